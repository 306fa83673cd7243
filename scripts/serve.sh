#!/usr/bin/env bash
# The one run command: virtualenv, install, then `invdash serve` (arguments pass through).
# On the embedded default database the first run creates and seeds it with demo data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv "."
exec .venv/bin/invdash serve "$@"
