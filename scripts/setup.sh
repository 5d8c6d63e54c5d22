#!/usr/bin/env bash
# Create .venv and install the pinned requirements, and onnxruntime-web (web/, npm ci from package-lock.json) for
# "Profile a browser" (idempotent). With --browser, also Chromium from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
# onnxruntime-web, served by the dashboard itself to visitors' browsers: reinstalled when package-lock.json changed
lock_want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ "$(cat web/node_modules/.lock.sha 2>/dev/null)" != "$lock_want" ]; then
  if ! command -v npm >/dev/null && [ "${1:-}" = "--browser" ]; then
    # the test command (--browser) needs it: the browser-profile tests serve onnxruntime-web
    if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  fi
  if ! command -v npm >/dev/null; then
    echo "setup: npm is missing, so 'Profile a browser' cannot serve onnxruntime-web (apt-get install npm, then rerun)" >&2
  else
    (cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    echo "$lock_want" > web/node_modules/.lock.sha
  fi
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
