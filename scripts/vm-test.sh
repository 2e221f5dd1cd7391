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
# Baked: under software emulation, installing packages was most of a run (the quick
# start took 317 of the guest's ~400 s). So a second cached image, made from the first
# natively (loop mount + chroot, a minute or two), already holds what setup.sh would
# install: the Debian packages of setup.sh's NEED table but one (tmux: the guest's
# setup.sh still installs it from the mirror, so its apt path runs for real), and a
# .venv with the project's requirements but not the project, stamped so that setup.sh's
# own `pip install -e '.[dev]'` still runs in the guest (it installs cnlab from the
# unpacked repository; the requirements are found installed). Its key hashes the first
# image's key, scripts/setup.sh, the requirement lists of pyproject.toml and the bake
# recipe: change any of them and it is made again. With CNLAB_VM_BAKE=0, or on a
# machine that cannot loop-mount, the plain image boots (the guest installs everything).
#
# The guest's test unit writes to the serial console and powers off. Exit status: 0
# when every step passed; 1 on a failed step (the log tail is printed); 2 when the VM
# could not be built or booted. The whole serial log is kept in $CNLAB_VM_CACHE/last.log.
#
# Environment: CNLAB_VM_ACCEL=kvm|tcg (default: kvm when it works, else tcg),
# CNLAB_VM_TIMEOUT seconds for the boot and smoke (default 1500),
# CNLAB_VM_MIRROR (default: the Debian mirror in this machine's apt sources),
# CNLAB_VM_BAKE=0 (boot the plain image, see above).
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

# ---- wheels of everything setup.sh installs (cached by the hash of the requirement lists)
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
requirements=$("$py" - <<'EOF'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))
reqs = p["build-system"]["requires"] + p["project"]["dependencies"] + ["wheel"]
for extra in p["project"].get("optional-dependencies", {}).values():
    reqs += extra
print("\n".join(reqs))
EOF
) || die "could not read the requirements from pyproject.toml"
wheels=$cache/wheels-$(printf '%s\n' "$requirements" | sha256sum | cut -c1-16)
if [ ! -f "$wheels/.complete" ]; then
  say "building wheels of the project's requirements"
  rm -rf "$wheels"
  mkdir -p "$wheels"
  printf '%s\n' "$requirements" > "$wheels/requirements.txt"
  "$py" -m pip wheel -q --disable-pip-version-check -w "$wheels" -r "$wheels/requirements.txt" \
    > "$wheels/pip.log" 2>&1 || {
    grep -v '^WARNING: Location' "$wheels/pip.log" | tail -20 >&2
    die "could not build the wheels (pip wheel failed)"
  }
  touch "$wheels/.complete"
  find "$cache" -maxdepth 1 -name 'wheels-*' ! -path "$wheels" -exec rm -rf {} +
fi

# ---- the baked image: what setup.sh would install, installed natively (see the top)
left_for_setup=tmux
# The Debian packages of setup.sh's NEED table ([command]=package), and python3-venv.
setup_packages() {
  sed -n '/^declare -A NEED=(/,/^)/p' scripts/setup.sh | grep -o '\]=[A-Za-z0-9.+-]*' | cut -c3-
  echo python3-venv
}
bake_packages=$(setup_packages | sort -u | grep -vx "$left_for_setup" | tr '\n' ' ')

# Runs in a private mount namespace (unshare -m): its mounts end with it.
bake_recipe() {
  local img=$1 wheels=$2 mnt=$3 rc=0
  shift 3
  mount -o loop "$img" "$mnt" || return 1
  mount -t proc proc "$mnt/proc"
  mount --rbind /dev "$mnt/dev"
  mkdir -p "$mnt/tmp/wheels"
  mount --bind "$wheels" "$mnt/tmp/wheels"
  cp -a "$mnt/etc/resolv.conf" "$mnt/tmp/resolv.conf.image" 2>/dev/null \
    || : > "$mnt/tmp/resolv.conf.image"
  rm -f "$mnt/etc/resolv.conf"
  cp /etc/resolv.conf "$mnt/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' > "$mnt/usr/sbin/policy-rc.d"  # start no service
  chmod +x "$mnt/usr/sbin/policy-rc.d"
  chroot "$mnt" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && chroot "$mnt" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@" \
    && chroot "$mnt" apt-get clean \
    && chroot "$mnt" /usr/bin/python3 -m venv /root/cnlab/.venv \
    && chroot "$mnt" /root/cnlab/.venv/bin/python -m pip install -q --disable-pip-version-check \
      --no-index --find-links /tmp/wheels -r /tmp/wheels/requirements.txt \
    && echo "baked: the requirements, not the project" > "$mnt/root/cnlab/.venv/.cnlab-installed" \
    || rc=1
  rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt/etc/resolv.conf"
  mv "$mnt/tmp/resolv.conf.image" "$mnt/etc/resolv.conf"
  umount "$mnt/tmp/wheels"
  rmdir "$mnt/tmp/wheels"
  umount -R "$mnt/dev"
  umount "$mnt/proc"
  umount "$mnt" || rc=1
  return "$rc"
}

bkey=$( { echo "$key"; cat scripts/setup.sh; printf '%s\n' "$requirements" "$bake_packages"
  declare -f bake_recipe; } | sha256sum | cut -c1-16)
baked=$cache/baked-$bkey
root_img=$image/root.img
bake_image() {
  local tmp=$baked.build
  rm -rf "$tmp"
  mkdir -p "$tmp/mnt"
  say "baking setup.sh's packages and the requirements into a copy of the image (natively)"
  cp --sparse=always "$image/root.img" "$tmp/root.img"
  # $bake_packages is split into words on purpose.
  # shellcheck disable=SC2086
  if unshare -m --propagation private \
    bash -c "$(declare -f bake_recipe); bake_recipe \"\$@\"" bake \
    "$tmp/root.img" "$wheels" "$tmp/mnt" $bake_packages > "$tmp/bake.log" 2>&1; then
    rmdir "$tmp/mnt"
    rm -rf "$baked"
    mv "$tmp" "$baked"
    find "$cache" -maxdepth 1 -name 'baked-*' ! -path "$baked" -exec rm -rf {} +
    return 0
  fi
  grep -v '^WARNING: Location' "$tmp/bake.log" | tail -15 >&2
  rm -rf "$tmp"
  return 1
}
if [ "${CNLAB_VM_BAKE:-1}" = 0 ]; then
  say "not baked (CNLAB_VM_BAKE=0): the guest installs everything itself"
elif [ -f "$baked/root.img" ]; then
  root_img=$baked/root.img
  say "baked image cached: $baked"
else
  t0=$SECONDS
  if bake_image; then
    root_img=$baked/root.img
    say "baked in $((SECONDS - t0)) s: $baked"
  else
    say "could not bake the image (no loop mount here?): booting the plain one"
  fi
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
  -drive "file=$root_img,if=none,id=root,format=raw,snapshot=on" \
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
