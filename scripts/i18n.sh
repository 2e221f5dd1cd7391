#!/usr/bin/env bash
# The code's translated strings (gettext, with Babel's pybabel; see docs/i18n.md):
#   scripts/i18n.sh extract   lab/locale/cnlab.pot from the code, then each .po updated
#                             (new strings arrive untranslated: translate them in the .po)
#   scripts/i18n.sh compile   each .po compiled to its .mo (setup.sh does this)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
case "${1:-}" in
  extract)
    "$PYBABEL" -q extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output \
      --no-wrap --omit-header -o lab/locale/cnlab.pot .
    "$PYBABEL" -q update -i lab/locale/cnlab.pot -d lab/locale -D cnlab \
      --no-wrap --ignore-obsolete --no-fuzzy-matching --init-missing -l zh
    ;;
  compile)
    "$PYBABEL" -q compile -d lab/locale -D cnlab
    ;;
  *) echo "usage: scripts/i18n.sh extract|compile" >&2; exit 2 ;;
esac
