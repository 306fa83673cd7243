#!/usr/bin/env bash
# The one test command: system packages, virtualenv, lint, types, tests.
# Usage: bash scripts/test.sh [pytest arguments...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# --- System packages the tests drive for real (a browser, a database, Prometheus, Redis) --------
# shellcheck source=scripts/system-packages.sh
source scripts/system-packages.sh
ensure_system_packages scripts/test.sh required \
  chromium chromium-driver postgresql prometheus redis-server

# --- Virtualenv with the package and its [test] extra ------------------------------------------
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv ".[test]"

# --- Deployment validators (checkov, kubernetes-validate, yamllint, hadolint) in .venv-tools ----
# shellcheck source=scripts/tools-venv.sh
source scripts/tools-venv.sh
ensure_tools_venv

export VIRTUAL_ENV="$repo_root/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export DASH_TEST_CHROMEPATH="${DASH_TEST_CHROMEPATH:-/usr/bin/chromium}"
# Debian's chromedriver for selenium, which then never runs its Selenium Manager (tests/conftest.py).
export SE_CHROMEDRIVER="${SE_CHROMEDRIVER:-/usr/bin/chromedriver}" SE_AVOID_STATS=true SE_OFFLINE=true

# --- Checks, stopping at the first failure ----------------------------------------------------
echo "== ruff check" >&2
ruff check .
echo "== mypy" >&2
mypy
echo "== pytest" >&2
status=0
pytest --headless "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests; that counts as a failure" >&2
  exit 1
fi
exit "$status"
