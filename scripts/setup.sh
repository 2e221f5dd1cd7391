#!/usr/bin/env bash
# Installs what cnlab needs, and nothing twice: Debian packages that are missing,
# and a virtual environment (.venv) with the project. Safe to run again.
# Used by ./run, by the Vagrantfile's provisioning, and therefore by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "cnlab builds network namespaces and needs root: run it as root (sudo $0)"
[ "$(uname -s)" = Linux ] || die "cnlab needs Linux (network namespaces)"

# command -> Debian package that provides it
declare -A NEED=(
  [ip]=iproute2 [iptables]=iptables [ping]=iputils-ping [curl]=curl
  [nsenter]=util-linux [unshare]=util-linux [tmux]=tmux [ps]=procps
  [python3]=python3 [git]=git [nft]=nftables
)
# Only the test suite needs these (`scripts/setup.sh --test`, or CNLAB_SETUP_TEST=1):
# vagrant checks the workshop Vagrantfile. Add more as `[command]=package`.
declare -A TEST_NEED=(
  [vagrant]=vagrant
)
if [ "${1:-}" = --test ] || [ "${CNLAB_SETUP_TEST:-}" = 1 ]; then
  for cmd in "${!TEST_NEED[@]}"; do NEED[$cmd]=${TEST_NEED[$cmd]}; done
fi
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
PY=${CNLAB_PYTHON:-python3}
if command -v "$PY" >/dev/null 2>&1 && ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]}; install them with your package manager"
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing Debian packages: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "cnlab needs Python 3.11 or newer (found $("$PY" --version 2>&1))"

stamp=.venv/.cnlab-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "preparing the virtual environment in .venv"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi
