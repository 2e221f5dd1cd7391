# cnlab world: /etc/bash.bashrc inside the world (the machine's own is not read here).
# Every interactive bash of the world reads it, nested ones too, whatever its
# environment: the helpers stay first in PATH and the prompt names the namespace.
[ -z "${PS1-}" ] && return
@EXPORTS@
shopt -s checkwinsize
# No history expansion: the article's `!-o br0` must reach iptables (and the lab's
# explanation of it) instead of bash's "!-o: event not found".
set +H
