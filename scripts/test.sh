#!/usr/bin/env bash
# Set up (packages and Debian's Chromium) and run lint plus the whole test suite on two pytest-xdist workers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Two workers (CI has 2 cores), each taking whole modules in tests/conftest.py's order (test_train.py first): module fixtures
# (a Streamlit server, a supernet) are built once and a module's tests keep their order. Extra arguments go to pytest
# and win over these: `bash scripts/test.sh -k ladder`, `bash scripts/test.sh -n 0` for one process.
exec .venv/bin/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder "$@"
