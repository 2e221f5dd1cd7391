#!/usr/bin/env bash
# The lab on a learner's real machine: boots a stock Debian 12 (bookworm) VM with QEMU
# and runs the README's quick start and a smoke of each use inside it
# (scripts/vm-guest-test.sh: setup, lessons 2 and 8, grading a class folder with the
# sandbox limits, `cnlab serve` on loopback, the host's network unchanged).
#
# Why a VM: a stock install differs from the machine the lab is built on in ways no
# container shows. Debian's initramfs mounts /run nodev,noexec,nosuid; systemd runs a
# pure cgroup v2 hierarchy; the kernel is Debian's own.
#
#   scripts/vm-test.sh            build the image if needed, boot it, run the smoke
#
# The image: `debootstrap bookworm` (Priority required + important, i.e. what a fresh
# install has) plus git, python3 and linux-image-amd64, systemd as init. It is cached
# in $CNLAB_VM_CACHE (default /var/cache/cnlab-vm), keyed by a hash of the recipe
# below, so later runs skip the build (~3 min). The repository goes in as a clean
# `git archive` of HEAD on a second disk, with wheels of the project's requirements
# built on this machine (the guest's pip works offline). The guest reaches the
# Debian mirror this machine's apt uses (its apt sources are copied in) through
# QEMU's user networking, for the packages scripts/setup.sh installs; nothing else.
#
# The guest's test unit writes to the serial console and powers off. Exit status: 0
# when every step passed; 1 on a failed step (the log tail is printed); 2 when the VM
# could not be built or booted. The whole serial log is kept in $CNLAB_VM_CACHE/last.log.
#
# Environment: CNLAB_VM_ACCEL=kvm|tcg (default: kvm when it works, else tcg),
# CNLAB_VM_TIMEOUT seconds for the boot and smoke (default 1500),
# CNLAB_VM_MIRROR (default: the Debian mirror in this machine's apt sources).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${CNLAB_VM_CACHE:-/var/cache/cnlab-vm}
vm_timeout=${CNLAB_VM_TIMEOUT:-1500}
suite=bookworm

say() { printf 'vm-test: %s\n' "$*" >&2; }
die() { printf 'vm-test: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mkfs): run it as root"
for tool in debootstrap qemu-system-x86_64 mkfs.ext4 git; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "missing $tool: run scripts/setup.sh --test (installs debootstrap, qemu-system-x86)"
done
[ "$(uname -m)" = x86_64 ] || die "the VM test boots an amd64 guest and needs an x86_64 machine"

# The Debian mirror this machine's apt uses (first deb822 URIs or sources.list line).
host_mirror() {
  local uri
  uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && $3 ~ /bookworm$/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}
mirror=${CNLAB_VM_MIRROR:-$(host_mirror)}

# ---- the image recipe (its text is the cache key: change it and the image is rebuilt)
image_recipe() {
  local root=$1
  debootstrap --include=git,python3,linux-image-amd64 "$suite" "$root" "$mirror" >&2
  echo cnlab-vm > "$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tcnlab-vm\n' > "$root/etc/hosts"
  printf 'LABEL=cnlab-root / ext4 errors=remount-ro 0 1\n' > "$root/etc/fstab"
  # As Debian's installer writes it for the one network card (PCI slot 3: ens3).
  printf 'auto lo\niface lo inet loopback\n\nallow-hotplug ens3\niface ens3 inet dhcp\n' \
    > "$root/etc/network/interfaces"
  # The host's apt sources (same mirror, security and updates), as an installed system has.
  rm -f "$root/etc/apt/sources.list"
  local src
  for src in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$src" ] && grep -qi debian "$src" && grep -q "$suite" "$src" \
      && cp "$src" "$root/etc/apt/sources.list.d/"
  done
  [ -n "$(ls "$root/etc/apt/sources.list.d/")" ] \
    || echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
  # Test harness only: no login prompt on the serial console, no background traffic
  # (clock sync to public servers, apt timers racing setup's apt-get).
  local unit
  for unit in serial-getty@ttyS0.service systemd-timesyncd.service apt-daily.timer \
    apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  cat > "$root/etc/systemd/system/cnlab-vm-test.service" <<'EOF'
[Unit]
Description=cnlab VM test (the disk labelled cnlab-payload)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'mkdir -p /mnt/cnlab && mount -o ro LABEL=cnlab-payload /mnt/cnlab && exec /bin/bash /mnt/cnlab/guest-test.sh'
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TTYVHangup=no

[Install]
WantedBy=multi-user.target
EOF
  ln -sf ../cnlab-vm-test.service "$root/etc/systemd/system/multi-user.target.wants/"
  chroot "$root" apt-get clean
}

key=$( { declare -f image_recipe; echo "$suite $mirror"; } | sha256sum | cut -c1-16)
image=$cache/debian12-$key

build_image() {
  local tmp=$image.build
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  say "building the Debian 12 image (debootstrap from $mirror, a few minutes)"
  image_recipe "$tmp/root" 2> "$tmp/build.log" || { tail -20 "$tmp/build.log" >&2; die "debootstrap failed"; }
  cp "$tmp"/root/boot/vmlinuz-* "$tmp/vmlinuz"
  cp "$tmp"/root/boot/initrd.img-* "$tmp/initrd.img"
  truncate -s 4G "$tmp/root.img"
  mkfs.ext4 -q -F -L cnlab-root -d "$tmp/root" "$tmp/root.img"
  rm -rf "$tmp/root"
  rm -rf "$image"
  mv "$tmp" "$image"
  trap - EXIT
  # Older images of other recipes are no longer used.
  find "$cache" -maxdepth 1 -name 'debian12-*' ! -name "debian12-$key" -exec rm -rf {} +
}

mkdir -p "$cache"
t0=$SECONDS
if [ -f "$image/root.img" ]; then
  say "image cached: $image"
else
  build_image
  say "image built in $((SECONDS - t0)) s: $image"
fi

# ---- wheels of everything setup.sh installs (cached by the hash of pyproject.toml)
wheels=$cache/wheels-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$wheels/.complete" ]; then
  say "building wheels of the project's requirements"
  rm -rf "$wheels"
  mkdir -p "$wheels"
  py=python3
  [ -x .venv/bin/python ] && py=.venv/bin/python
  "$py" - > "$wheels/requirements.txt" <<'EOF'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))
reqs = p["build-system"]["requires"] + p["project"]["dependencies"] + ["wheel"]
for extra in p["project"].get("optional-dependencies", {}).values():
    reqs += extra
print("\n".join(reqs))
EOF
  "$py" -m pip wheel -q --disable-pip-version-check -w "$wheels" -r "$wheels/requirements.txt" \
    > "$wheels/pip.log" 2>&1 || {
    grep -v '^WARNING: Location' "$wheels/pip.log" | tail -20 >&2
    die "could not build the wheels (pip wheel failed)"
  }
  touch "$wheels/.complete"
  find "$cache" -maxdepth 1 -name 'wheels-*' ! -path "$wheels" -exec rm -rf {} +
fi

# ---- the payload disk: the repository (HEAD), the wheels, the guest's test script
run=$(mktemp -d "$cache/run.XXXXXX")
cleanup() { rm -rf "$run"; }
trap cleanup EXIT
mkdir -p "$run/payload/wheels"
git archive --format=tar -o "$run/payload/repo.tar" HEAD
cp scripts/vm-guest-test.sh "$run/payload/guest-test.sh"
cp "$wheels"/*.whl "$run/payload/wheels/"
size_mb=$(( $(du -sm "$run/payload" | cut -f1) + 64 ))
truncate -s "${size_mb}M" "$run/payload.img"
mkfs.ext4 -q -F -L cnlab-payload -d "$run/payload" "$run/payload.img"
say "testing $(git rev-parse --short HEAD) ($(git log -1 --format=%s | cut -c1-60))"

# ---- KVM when it works here, software emulation (TCG) otherwise
kvm_works() {
  [ -w /dev/kvm ] || return 1
  # (Here /dev/kvm exists but QEMU aborts with SIGABRT: the caller hides the shell's notice.)
  (timeout 60 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none \
    -no-reboot -serial "file:$run/kvm-probe.log" -kernel "$image/vmlinuz" \
    -append "console=ttyS0 panic=-1" >/dev/null 2>&1) 2>/dev/null || return 1
  grep -q "Linux version" "$run/kvm-probe.log"
}
case ${CNLAB_VM_ACCEL:-auto} in
  kvm) accel=(-accel kvm -cpu host) ;;
  tcg) accel=(-accel tcg,thread=multi -cpu max) ;;
  *) if kvm_works 2>/dev/null; then accel=(-accel kvm -cpu host); else accel=(-accel tcg,thread=multi -cpu max); fi ;;
esac
say "booting with ${accel[1]} (timeout ${vm_timeout} s)"

log=$cache/last.log
: > "$log"
t1=$SECONDS
set +e
timeout --kill-after=10 "$vm_timeout" qemu-system-x86_64 "${accel[@]}" -m 2048 -smp 2 \
  -nodefaults -display none -no-reboot -monitor none -serial "file:$log" \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=LABEL=cnlab-root ro console=ttyS0 quiet" \
  -drive "file=$image/root.img,if=none,id=root,format=raw,snapshot=on" \
  -device virtio-blk-pci,drive=root,addr=0x4 \
  -drive "file=$run/payload.img,if=none,id=payload,format=raw,readonly=on" \
  -device virtio-blk-pci,drive=payload,addr=0x5 \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0,addr=0x3 \
  -device virtio-rng-pci,addr=0x6 2> "$run/qemu.err"
qemu_rc=$?
set -e
boot_s=$((SECONDS - t1))

result=$(grep -a '^CNLAB-VM-RESULT:' "$log" | tail -1 | tr -d '\r' || true)
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
  say "the VM did not finish within ${vm_timeout} s; last lines of its console:"
  tail -60 "$log" | tr -d '\r' >&2
  exit 1
fi
if [ "$qemu_rc" -ne 0 ]; then
  cat "$run/qemu.err" >&2
  die "qemu failed (exit $qemu_rc)"
fi
grep -a '^CNLAB-VM-TIME:' "$log" | tr -d '\r' | sed 's/^CNLAB-VM-TIME: /  /' >&2 || true
say "VM run: ${boot_s} s (boot, set-up, smoke, power-off); console log: $log"
case $result in
  "CNLAB-VM-RESULT: pass"*) say "${result#CNLAB-VM-RESULT: }"; exit 0 ;;
  "")
    say "the guest never reported a result; last lines of its console:"
    tail -60 "$log" | tr -d '\r' >&2
    exit 1
    ;;
  *)
    say "last lines of the guest's console:"
    tail -80 "$log" | tr -d '\r' >&2
    say "${result#CNLAB-VM-RESULT: }"
    exit 1
    ;;
esac
