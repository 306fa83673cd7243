#!/usr/bin/env bash
# The benchmark command behind `make bench` and `make bench-short`: the system packages it
# drives for real (PostgreSQL, Chromium), .venv with the [bench] extra, then bench/run.py.
# Usage: bash scripts/bench.sh --full|--short [bench/run.py arguments...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Optional: bench/run.py says which figures cannot be measured without them, and exits non-zero.
# shellcheck source=scripts/system-packages.sh
source scripts/system-packages.sh
ensure_system_packages scripts/bench.sh optional chromium chromium-driver postgresql

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv ".[bench]"

export SE_AVOID_STATS=true
exec .venv/bin/python -m bench.run "$@"
