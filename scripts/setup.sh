#!/usr/bin/env bash
# Creates .venv and installs asdrp into it (editable), once per change of pyproject.toml.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python_bin="${PYTHON:-python3}"
"$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "asdrp needs Python 3.11+ (found $("$python_bin" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=".venv/.asdrp-installed-${extras:-base}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  spec="."; [ -n "$extras" ] && spec=".[$extras]"
  .venv/bin/python -m pip install --quiet -e "$spec"
  echo "$want" > "$stamp"
fi
