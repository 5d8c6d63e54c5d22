#!/usr/bin/env bash
# Set up (first run only) and start the dashboard on the shipped precomputed/ results.
# Binds to this machine only (127.0.0.1) in single-user mode (OFA_DASH_LOCAL=1: the sidebar may
# point at other dataset folders). To serve others, see README "Serving the dashboard to others".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OFA_DASH_LOCAL="${OFA_DASH_LOCAL:-1}"
exec .venv/bin/streamlit run app.py --server.address "${OFA_DASH_ADDRESS:-127.0.0.1}" "$@"
