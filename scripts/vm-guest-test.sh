#!/bin/bash
# Runs INSIDE the stock Debian 12 VM that scripts/vm-test.sh boots (as root, from the
# cnlab-vm-test unit, output on the serial console): the README's quick start and a
# smoke of each use, as a workshop participant would meet them on a fresh install.
# Do not run it on a real machine: it writes /etc/pip.conf and installs packages.
#
# Every step prints "=== NAME", its output, then "--- ok: NAME (N s)" or
# "--- FAIL: NAME (...)"; the last line is "CNLAB-VM-RESULT: pass ..." or
# "CNLAB-VM-RESULT: fail ...", which the host reads.
set -uo pipefail
payload=$(cd "$(dirname "$0")" && pwd)
lab=/root/cnlab
failed=()
export HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

step() {  # step NAME COMMAND...: run it, print its duration, remember a failure
  local name=$1 t=$SECONDS rc
  shift
  echo "=== $name"
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "--- ok: $name ($((SECONDS - t)) s)"
  else
    echo "--- FAIL: $name (exit $rc, $((SECONDS - t)) s)"
    failed+=("$name")
  fi
  echo "CNLAB-VM-TIME: $(printf '%-44s %4d s  %s' "$name" $((SECONDS - t)) "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)")"
}
cnlab() { "$lab/.venv/bin/cnlab" "$@"; }

platform() {
  local run_opts cg
  run_opts=$(findmnt -no OPTIONS /run)
  cg=$(stat -fc %T /sys/fs/cgroup)
  echo "facts: Debian $(cat /etc/debian_version), kernel $(uname -r), $(python3 -V)," \
    "cgroup fs $cg, /run: $run_opts, $(nproc) CPUs, $(awk '/MemTotal/ {print $2/1024 " MiB"}' /proc/meminfo)"
  # The VM must be what it claims to be, or it proves nothing.
  [[ ,$run_opts, == *,noexec,* ]] || { echo "/run is not noexec"; return 1; }
  [ "$cg" = cgroup2fs ] || { echo "cgroups are not pure v2"; return 1; }
  # The image may come baked with setup.sh's packages and requirements (scripts/vm-test.sh)
  # but never with tmux, which setup.sh must install here from the mirror.
  ! command -v tmux >/dev/null || { echo "tmux is already installed"; return 1; }
  if [ -f "$lab/.venv/.cnlab-installed" ]; then
    echo "baked: $(cat "$lab/.venv/.cnlab-installed"); iptables: $(command -v iptables || echo none)"
  fi
}

network() {  # the Debian mirror, for the packages setup.sh installs
  local i
  for i in $(seq 90); do
    ip -4 route show default | grep -q . && { ip -br addr; ip route; return 0; }
    sleep 1
  done
  echo "no default route after 90 s"; ip -br addr; return 1
}

unpack() {
  mkdir -p "$lab" && tar -xf "$payload/repo.tar" -C "$lab" || return 1
  # Package access: wheels built on the host, no index (the guest's pip works offline).
  # no-compile: bytecode is written on first import instead (a long wait under emulation).
  printf '[global]\nno-index = true\nfind-links = %s/wheels\nno-compile = true\n' \
    "$payload" > /etc/pip.conf
}

fingerprint() {  # the guest's own network, which no world may change
  ip -d link
  ip addr | sed -E 's/ (valid|preferred)_lft [^ ]+//g'
  ip route show table all | sed -E 's/ expires [0-9]+sec//'
  ip -6 route show table all | sed -E 's/ expires [0-9]+sec//'
  ip rule
  ip -6 rule
  iptables-nft-save 2>&1 | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
  iptables-legacy-save 2>&1 | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
  nft list ruleset 2>&1
  sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
  ip netns list
  # What is in /run/netns (the lab may leave the folder itself behind, empty: not a change
  # to the network, as `ip netns add` makes it too).
  ls -A /run/netns 2>/dev/null
  hostname
}

lesson() { cnlab reset "$1" && cnlab solve "$1" && cnlab check "$1"; }

grade_class() {
  local out=/root/grades.json hostile=/root/hostile
  mkdir -p "$hostile"
  printf ':(){ :|:& };:\n' > "$hostile/forkbomb.sh"
  printf "python3 -c \"b = b'x' * (700 << 20)\"\necho survived\n" > "$hostile/memhog.sh"
  cnlab grade 5 "$lab/tests/fixtures/class-05" "$hostile/forkbomb.sh" "$hostile/memhog.sh" \
    --timeout 30 --out "$out" || return 1
  "$lab/.venv/bin/python" - "$out" <<'EOF'
import json, pathlib, sys
report = json.load(open(sys.argv[1]))
# submission -> (passed, causes of the failed milestones, status); as tests/test_grading_class.py
want = {
    "correct.sh": (True, set(), "ok"),
    "no-default-routes.sh": (False, {"gateway-missing"}, "ok"),
    "gateway-without-address.sh": (False, {"address-missing", "gateway-unreachable"}, "ok"),
    "unplugged.sh": (False, {"not-bridged"}, "ok"),
    "cable-down.sh": (False, {"link-down"}, "ok"),
    "forkbomb.sh": (False, None, "pid-limit"),
    "memhog.sh": (False, None, "memory-limit"),
}
problems = []
for sub in report["submissions"]:
    name = sub["name"]
    failed = [m for m in sub["milestones"] if not m["passed"]]
    causes = {m["cause"] for m in failed}
    print(f"  {name:28} {sub['status']:13} {sub['score']:g}/{sub['max_score']:g}"
          f"  enforced={sub['enforced']}  causes={sorted(c or '-' for c in causes)}"
          + (f"  reason={sub['reason']}" if sub["reason"] else ""))
    passed, want_causes, status = want.pop(name, (None, None, None))
    if status is None:
        problems.append(f"{name}: not expected")
        continue
    if sub["status"] != status:
        problems.append(f"{name}: status {sub['status']}, want {status}")
    if sub["passed"] is not passed:
        problems.append(f"{name}: passed={sub['passed']}, want {passed}")
    if want_causes is not None and causes != want_causes:
        problems.append(f"{name}: causes {sorted(map(str, causes))}, want {sorted(want_causes)}")
    for limit in ("pids", "memory"):
        if not sub["enforced"].get(limit):
            problems.append(f"{name}: the {limit} limit is not enforced")
problems += [f"{name}: missing from the report" for name in want]
left = [p.name for p in pathlib.Path("/run/cnlab").glob("grade-*") if p.is_dir()]
if left:
    problems.append(f"worlds left behind: {left}")
for line in problems:
    print("  PROBLEM:", line)
sys.exit(1 if problems else 0)
EOF
}

serve() {  # `cnlab serve` answers on loopback only, and only with its token
  local pid i page=/root/serve.html rc=0 token
  token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  CNLAB_SERVE_TOKEN=$token "$lab/.venv/bin/cnlab" serve --port 8000 > /root/serve.log 2>&1 &
  pid=$!
  for i in $(seq 240); do
    curl -fsS -L -c /root/jar -b /root/jar -o "$page" "http://127.0.0.1:8000/?token=$token" \
      2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if [ -s "$page" ]; then
    echo "page: $(wc -c < "$page") bytes after ${i} s"
    grep -qi 'textual' "$page" || { echo "the page does not look like textual-serve's"; rc=1; }
  else
    echo "no answer on 127.0.0.1:8000"; rc=1
  fi
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/)" = 403 ] \
    || { echo "answers without the token"; rc=1; }
  ss -ltnH 'sport = :8000'
  ss -ltnH 'sport = :8000' | awk '$4 !~ /^127\.0\.0\.1:/ { bad = 1 } END { exit bad }' \
    || { echo "listening beyond loopback"; rc=1; }
  kill "$pid" 2>/dev/null
  wait "$pid"
  tail -5 /root/serve.log
  return "$rc"
}

same_fingerprint() {
  fingerprint > /root/fp-after 2>&1
  diff -u /root/fp-before /root/fp-after
}

t0=$SECONDS
echo "CNLAB-VM: guest test starting"
step "stock Debian 12 (noexec /run, cgroup v2)" platform
step "network to the Debian mirror" network
step "repository and wheels unpacked" unpack
cd "$lab" || exit 1
step "quick start: ./run list (scripts/setup.sh)" ./run list
step "setup.sh installed tmux from the mirror" command -v tmux
step "set-up again changes nothing" bash -c 'out=$(scripts/setup.sh 2>&1) && echo "$out" && [ -z "$out" ]'
fingerprint > /root/fp-before 2>&1
step "lesson 2: reset, solve, check" lesson 2
step "lesson 8: reset, solve, check" lesson 8
step "grade class-05 + fork bomb + memory hog" grade_class
step "cnlab serve answers on loopback" serve
step "host network unchanged (world up)" same_fingerprint
step "cnlab down" cnlab down
step "host network unchanged (world down)" same_fingerprint

if [ ${#failed[@]} -eq 0 ]; then
  echo "CNLAB-VM-RESULT: pass (every step, $((SECONDS - t0)) s in the guest)"
else
  echo "CNLAB-VM-RESULT: fail (${#failed[@]} steps: $(IFS=';'; echo "${failed[*]}"))"
fi
