"""The whole-process baseline for ``cnlab reset``: one plain bash script, no Python.

``cnlab reset N`` is a whole process: Python starts, imports, reads the course,
tears the old world down and builds the new one. The honest baseline for that
is what an admin would write instead, a bash script that does the same work
with the standard tools, one process per command:

* tear down the world of that name it built before: kill its init (the kernel
  then ends every process of its PID namespace), unmount its pins, remove it;
* build the same sealed world as :meth:`lab.world.World.create`: a private
  folder, the mount, network, UTS and PID namespaces pinned there by
  ``unshare``, inside them the same mounts (the helpers' tmpfs over
  ``/usr/local/sbin``, the guarded ``/run/netns`` tmpfs, the world's ``/sys``,
  ``/proc``, resolv.conf, profile, bashrc and home), the same init
  (``lab/worldinit.py``), the simulated internet (its own namespace, ``eth0``
  veth pair, 8.8.8.8 on ``lo``, the DNS responder ``lab/dnsd.py``), each ``ip``
  command its own process;
* run the lesson's start script in its naive form (:mod:`bench.naive`) inside
  the world, and write the world's meta (``ready``), so that every ``cnlab``
  verb accepts it.

The benchmark compares both worlds' snapshots (:mod:`bench.fingerprint`): the
script must build the same network as ``cnlab reset``. It manages only worlds
it built itself (its own name, its own init), which is all a reset needs here.
"""

from __future__ import annotations

import shlex
import sys

from lab.world import World, paths, shell

_TEMPLATE = r"""#!/bin/bash
# The sealed world and lesson state of `cnlab reset`, as a plain bash script (bench).
set -e
W=@W@
A=@ASSETS@
H=@HOME@
NAME=@NAME@

# ---- tear down the world this script built before
if [ -f "$W/init.pid" ]; then
  read -r init < "$W/init.pid"
  kill -9 "$init" 2>/dev/null || true
fi
if [ -d "$W" ]; then
  umount -l -q "$W/mnt" "$W/host" "$W/inet" "$W/pid" "$W/uts" "$W" 2>/dev/null || true
  rm -rf "$W"
fi

# ---- the world's folder and files
mkdir -p -m 700 "${W%/*}"
mkdir -m 700 "$W"
mount --bind "$W" "$W"
mount --make-private "$W"
touch "$W/mnt" "$W/host" "$W/inet" "$W/pid" "$W/uts" "$W/events"
mkdir "$W/bin" "$W/etc"
cp "$A/prompt.sh" "$A/ps0.sh" "$A/record.sh" "$A/resolv.conf" "$W/"
mkdir -p -m 755 "$H"
[ -e "$H/.bashrc" ] || cp "$A/home.bashrc" "$H/.bashrc"
[ -e "$H/.profile" ] || cp "$A/home.profile" "$H/.profile"
[ -e "$H/inspect-net-stack.sh" ] || cp "$A/inspect-net-stack.sh" "$H/inspect-net-stack.sh"
cat > "$W/etc/exports.profile" <<'EXPORTS'
@PROFILE_LINES@
EXPORTS
cat > "$W/etc/exports.bashrc" <<'EXPORTS'
@BASHRC_LINES@
EXPORTS
sed -e "/@EXPORTS@/{r $W/etc/exports.profile" -e "d}" "$A/profile" > "$W/etc/profile"
sed -e "/@EXPORTS@/{r $W/etc/exports.bashrc" -e "d}" "$A/bash.bashrc" > "$W/etc/bash.bashrc"
cp "$A/shrc" "$W/etc/shrc"
printf '. %s\n[ -f ~/.bashrc ] && . ~/.bashrc\n' "$W/etc/bash.bashrc" > "$W/bashrc"
chmod 666 "$W/events"
# the world's users: the machine's and the unprivileged learner (lesson 11)
id=$(awk -F: -v n=@FIRST_ID@ '{u[$3]=1; u[$4]=1} END {while (n in u) n++; print n}' /etc/passwd /etc/group)
{ cat /etc/passwd; echo "@LEARNER@:x:$id:$id:cnlab learner:/home/@LEARNER@:/bin/bash"; } > "$W/etc/passwd"
{ cat /etc/group; echo "@LEARNER@:x:$id:"; } > "$W/etc/group"
mkdir -p -m 755 "${H%/*}/@LEARNER@"
chown "$id:$id" "${H%/*}/@LEARNER@"

# ---- the namespaces, their mounts and the world's init (PID 1 of its PID namespace)
mkfifo "$W/ready"
unshare --mount="$W/mnt" --net="$W/host" --uts="$W/uts" --pid="$W/pid" --fork \
    --propagation private bash -c '
  set -e
  W=$1 A=$2 H=$3 NAME=$4
  exec 9>"$W/ready"
  hostname localhost
  others=$(awk -v w="$W" '"'"'$5 ~ "^/run/cnlab/" && $5 != w && index($5, w "/") != 1 {print $5}'"'"' /proc/self/mountinfo | sort -r)
  [ -z "$others" ] || umount -l $others 2>/dev/null || true
  mount -t tmpfs -o nosuid,nodev,mode=0755,size=1m "cnlab-bin-$NAME" "$W/bin"
  cp "$A/sudo" "$A/su" "$A/modprobe" "$A/iptables" "$A/ip" "$W/bin/"
  sed -e "s|@LEARNER""@|$5|g" -e "s|@UID@|$6|g" -e "s|@GID@|$6|g" \
      -e "s|@HOME""@|'\''${H%/*}/$5'\''|g" "$A/aslearner" > "$W/bin/aslearner"
  chmod 755 "$W/bin/sudo" "$W/bin/su" "$W/bin/modprobe" "$W/bin/iptables" "$W/bin/ip" \
      "$W/bin/aslearner"
  if [ -d /usr/local/sbin ]; then
    mkdir "$W/bin/.host"
    mount --bind /usr/local/sbin "$W/bin/.host"
    for e in "$W/bin/.host"/*; do
      if [ -e "$e" ] && [ ! -e "$W/bin/${e##*/}" ]; then
        ln -s "/usr/local/sbin/.host/${e##*/}" "$W/bin/${e##*/}"
      fi
    done
    mount --rbind "$W/bin" /usr/local/sbin
  fi
  for tool in sudo su; do
    real=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin type -P "$tool" || true)
    if [ -n "$real" ]; then
      real=$(readlink -f "$real")
      if [ "${real##*/}" = "$tool" ]; then mount --bind "$W/bin/$tool" "$real"; fi
    fi
  done
  mkdir -p /run/netns
  for i in 1 2 3; do mount -t tmpfs -o ro,mode=0755,size=4k "cnlab-guard-$NAME" /run/netns; done
  mount -t tmpfs -o mode=0755,size=1m "cnlab-netns-$NAME" /run/netns
  umount -l /sys
  mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
  for p in /sys/class/net /sys/devices/virtual/net; do
    mount --bind "$p" "$p"
    mount -o remount,bind,nosuid,nodev,noexec "$p"
  done
  mount -o remount,bind,ro,nosuid,nodev,noexec /sys
  mount --bind "$W/resolv.conf" /etc/resolv.conf || true
  mount --bind "$H" "$H" && mount -o remount,bind,nosuid,nodev "$H" || true
  for f in profile bash.bashrc passwd group; do
    if [ -f "/etc/$f" ]; then mount --bind "$W/etc/$f" "/etc/$f"; fi
  done
  umount -l /proc || true
  mount -t proc -o nosuid,nodev,noexec proc /proc
  mount --bind /proc/sys/net /proc/sys/net
  mount -o remount,bind,nosuid,nodev,noexec /proc/sys/net
  k=/proc/sys/net/netfilter/nf_hooks_lwtunnel
  if [ -e $k ]; then mount --bind $k $k; mount -o remount,bind,ro,nosuid,nodev,noexec $k; fi
  mount -o remount,bind,ro,nosuid,nodev,noexec /proc
  echo ok >&9
  exec 9>&- 0</dev/null 1>/dev/null 2>/dev/null
  exec @PYTHON@ -I -S @INIT@ "$NAME"
' world "$W" "$A" "$H" "$NAME" @LEARNER@ "$id" &
unshared=$!
read -r ok < "$W/ready"
read -r init _ < "/proc/$unshared/task/$unshared/children" || [ -n "$init" ]
echo "$init" > "$W/init.pid"

# ---- the simulated internet, one ip process per command
unshare --net="$W/inet" true
nsenter --net="$W/inet" ip link set lo up
nsenter --net="$W/inet" ip addr add 8.8.8.8/32 dev lo
nsenter --net="$W/inet" ip link add eth0 type veth peer name eth0 netns "$W/host"
nsenter --net="$W/inet" ip addr add 10.0.2.2/24 dev eth0
nsenter --net="$W/inet" ip link set eth0 up
nsenter --net="$W/host" ip link set lo up
nsenter --net="$W/host" ip addr add 10.0.2.15/24 dev eth0
nsenter --net="$W/host" ip link set eth0 up
nsenter --net="$W/host" ip route add default via 10.0.2.2 dev eth0
# DNS on 8.8.8.8:53 and the web server on 8.8.8.8:80: the same responder, on sockets
# bound by a two-line launcher (bash cannot bind a socket)
nsenter --net="$W/inet" --mount="$W/mnt" --pid="$W/pid" @PYTHON@ -I -S -c '
import os, socket, sys
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.bind(("8.8.8.8", 53))
w = socket.socket(); w.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
w.bind(("8.8.8.8", 80)); w.listen(64); os.set_inheritable(d.fileno(), True)
os.set_inheritable(w.fileno(), True)
os.execv(sys.executable, [sys.executable, "-I", "-S", sys.argv[1], "--fd", str(d.fileno()),
         "--http-fd", str(w.fileno()), sys.argv[2]])' @DNSD@ "$NAME" </dev/null >/dev/null 2>&1 &

# ---- the lesson's start state, naively, inside the world
PATH=/usr/sbin:/usr/bin:/sbin:/bin nsenter --mount="$W/mnt" --net="$W/host" --pid="$W/pid" \
    --uts="$W/uts" --wd="$H" -- bash -s <<'START'
@START@
START
printf '{"name": "%s", "status": "ready", "lesson": "%s", "home": "%s", "init_pid": %s, %s}\n' \
    "$NAME" @LESSON@ "$H" "$init" \
    "\"learner_uid\": $id, \"learner_home\": \"${H%/*}/@LEARNER@\"" > "$W/meta.json"
"""


def reset_script(world: World, lesson_id: str, naive_start: str) -> str:
    """The bash script that resets ``world`` to ``lesson_id`` (``naive_start`` inside)."""
    exports = "".join(
        f"export {k}={shell.sh_quote(v)}\n" for k, v in shell.shell_vars(world).items()
    )
    home = str(world.dir / "home")
    exports += f'[ "${{HOME:-/root}}" = /root ] && export HOME={shell.sh_quote(home)}\n'
    local, system, bin_dir = paths.LOCAL_SBIN, paths.SYSTEM_PATH, world.dir / "bin"
    profile = exports + f"export PATH={bin_dir}:{local}:/usr/local/bin:{system}"
    bashrc = exports + (
        f'case ":$PATH:" in *":{local}:"*) ;; *) export PATH="{bin_dir}:{local}:$PATH" ;; esac'
    )
    if "START" in naive_start.split() or "EXPORTS" in naive_start.split():
        raise ValueError("the start script uses a here-document tag of the baseline")
    fill = {
        "@W@": shlex.quote(str(world.dir)),
        "@ASSETS@": shlex.quote(str(paths.ASSETS)),
        "@HOME@": shlex.quote(home),
        "@NAME@": shlex.quote(world.name),
        "@PYTHON@": shlex.quote(sys.executable),
        "@INIT@": shlex.quote(str(paths.INIT_SCRIPT)),
        "@DNSD@": shlex.quote(str(paths.DNSD_SCRIPT)),
        "@LESSON@": shlex.quote(lesson_id),
        "@LEARNER@": paths.LEARNER,
        "@FIRST_ID@": str(paths.LEARNER_FIRST_ID),
        "@PROFILE_LINES@": profile,
        "@BASHRC_LINES@": bashrc,
        "@START@": naive_start.rstrip("\n"),
    }
    text = _TEMPLATE
    for key, value in fill.items():
        text = text.replace(key, value)
    return text
