#!/usr/bin/env bash
# The benchmark command behind `make bench` and `make bench-short`: the system packages it
# drives for real (PostgreSQL, Chromium), .venv with the [bench] extra, then bench/run.py.
# Usage: bash scripts/bench.sh --full|--short [bench/run.py arguments...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

missing_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  echo "${missing[*]:-}"
}

missing="$(missing_packages)"
if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/bench.sh: installing missing system packages: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y --no-install-recommends $missing
  else
    # bench/run.py says which figures cannot be measured without them, and exits non-zero.
    echo "scripts/bench.sh: missing system packages: $missing" >&2
  fi
fi

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv ".[bench]"

export SE_AVOID_STATS=true
exec .venv/bin/python -m bench.run "$@"
