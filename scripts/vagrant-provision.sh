#!/usr/bin/env bash
# Provisions the workshop VM; the Vagrantfile runs it as root on every
# `vagrant up --provision` / `vagrant provision`. It installs nothing itself:
# scripts/setup.sh (the README's installer) does that. On top it adds only what
# a VM needs: a `cnlab` command on root's PATH and a login greeting.
# Idempotent: a second run writes nothing and prints nothing.
#
# DESTDIR (default empty) prefixes the two files it writes, so that tests can
# run it without touching the machine: DESTDIR=/tmp/x scripts/vagrant-provision.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${DESTDIR:-}

"$repo/scripts/setup.sh"

# Write $2 to file $1 (mode $3) only if it differs, so a re-run changes nothing.
put() {
  local file=$dest$1 content=$2 mode=$3
  if [ -f "$file" ] && printf '%s\n' "$content" | cmp -s - "$file" \
    && [ "$(stat -c %a "$file")" = "$mode" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" > "$file.cnlab-tmp"
  chmod "$mode" "$file.cnlab-tmp"
  mv -f "$file.cnlab-tmp" "$file"
  printf 'vagrant-provision: wrote %s\n' "$1" >&2
}

put /usr/local/bin/cnlab "#!/bin/sh
# cnlab in the workshop VM (written by scripts/vagrant-provision.sh)
exec $repo/.venv/bin/cnlab \"\$@\"" 755

put /etc/motd "
  Welcome to the cnlab workshop VM (Container Networking Is Simple, hands on).

    sudo cnlab                 open the lab (it starts at lesson 1)
    sudo cnlab list            the lessons and your progress
    sudo cnlab shell           a root shell inside the lab's sealed world

  In a browser on your laptop instead:
    sudo cnlab serve --host 0.0.0.0 --public
  then open the URL it prints, http://127.0.0.1:8000/?token=..., on the laptop
  (Vagrant forwards it to the laptop's loopback only; \`vagrant port\` shows the
  port if 8000 was taken). Without the token, the page refuses everyone.

  The lab lives in $repo; its README has a Troubleshooting section.
" 644
