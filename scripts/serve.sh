#!/usr/bin/env bash
# Sets everything up and runs the server with its web chat page on http://127.0.0.1:8000
# (SQLite files under data/sessions/, the offline model unless OPENAI_API_KEY is set).
# Extra arguments go to `asdrp serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/asdrp serve "$@"
