#!/usr/bin/env bash
# The one test command: system packages, virtualenv, lint, types, tests.
# Usage: bash scripts/test.sh [pytest arguments...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# --- System packages the tests drive for real (a browser, a database, Prometheus) ---------------
missing_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    missing+=(prometheus)
  fi
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  echo "${missing[*]:-}"
}

missing="$(missing_packages)"
if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing missing system packages: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y --no-install-recommends $missing
    missing="$(missing_packages)"
    if [ -n "$missing" ]; then
      echo "scripts/test.sh: still missing after apt-get install: $missing" >&2
      exit 1
    fi
  else
    echo "scripts/test.sh: missing system packages: $missing" >&2
    echo "Install them (Debian 12) and run again, or run this script as root to install them:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
  fi
fi

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
