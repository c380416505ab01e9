#!/usr/bin/env bash
# Sets up, fills a SQLite database with demo data and serves the platform.
# Extra arguments go to `chengxin demo` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p demo
cd demo
exec ../.venv/bin/chengxin demo "$@"
