#!/usr/bin/env bash
# Sets up everything the platform and its tests need, on a fresh Debian machine or an
# existing one: system packages (when root and missing), a virtual environment in .venv,
# and the project with its test dependencies. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# chromium + driver: browser tests; poppler-utils: render PDFs in tests; fonts-noto-cjk and
# the pango libraries: WeasyPrint's Chinese PDFs.
SYSTEM_PACKAGES=(chromium chromium-driver poppler-utils fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: warning: missing system packages (${missing[*]}); browser and PDF tests need them" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.chengxin-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
