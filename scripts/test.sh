#!/usr/bin/env bash
# Sets up and runs the whole test suite. SQLite by default; set
# CHENGXIN_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/DB to run the same suite on
# PostgreSQL (that database's public schema is rebuilt by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
