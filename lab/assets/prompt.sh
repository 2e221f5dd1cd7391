# cnlab world: sourced before each prompt, in every shell of the world
# (nested ones too), so the prompt always names the network namespace.
__cnlab_status=$?
# the namespace's name as `ip netns identify` finds it (a file of /var/run/netns
# with the same device and inode), with shell builtins: no process at each prompt
# (the learner waits for the lab after every command); `ip` when globbing is off
__cnlab_ns=
__cnlab_fg=
shopt -q failglob 2>/dev/null && { shopt -u failglob; __cnlab_fg=1; }
for __cnlab_f in /var/run/netns/*; do
  [ /proc/self/ns/net -ef "$__cnlab_f" ] && { __cnlab_ns=${__cnlab_f##*/}; break; }
done
[ -z "$__cnlab_fg" ] || shopt -s failglob
case $- in *f*) __cnlab_ns=$(ip netns identify 2>/dev/null) ;; esac
[ -n "$__cnlab_ns" ] || __cnlab_ns=${CNLAB_HOME_NS:-host}
# a namespace no name leads to (unshare --net, a rootless one) is not the host's
# (the world's init lives in the host's: a builtin test; the learner may not look at
# PID 1, so it compares with the id the world wrote down)
if [ "$__cnlab_ns" = host ]; then
  if [ -e /proc/1/ns/net ]; then
    [ /proc/self/ns/net -ef /proc/1/ns/net ] || __cnlab_ns=unnamed
  elif [ -r "$CNLAB_DIR/hostnet" ]; then
    read -r __cnlab_host < "$CNLAB_DIR/hostnet"
    __cnlab_net=$(readlink /proc/self/ns/net 2>/dev/null)
    [ -z "$__cnlab_net" ] || [ "$__cnlab_net" = "$__cnlab_host" ] || __cnlab_ns=unnamed
  fi
fi
PS1="\[\e[1;32m\][$__cnlab_ns]\[\e[0m\] \w \\$ "
printf '%s\t%s\tdone\t%s\n' "${EPOCHREALTIME:-0}" "$__cnlab_ns" "$__cnlab_status" >> "$CNLAB_DIR/events"
# A replay driving this shell (lab/typed.py) sets CNLAB_PROMPT_MARK: every shell,
# nested ones too, then shows a prompt it can recognise, with the status and namespace.
if [ -n "${CNLAB_PROMPT_MARK-}" ]; then
  PS1="${CNLAB_PROMPT_MARK}:${__cnlab_status}:${__cnlab_ns}:${SHLVL:-1}\\$ "
  PS2="${CNLAB_PROMPT_MARK}+ "
fi
