# Sourced by scripts/test.sh after scripts/venv.sh: .venv-tools with the deployment validators
# pinned in scripts/deploy-tools.txt. tests/deploy looks for them there first, then on PATH.

ensure_tools_venv() {
  local pins="scripts/deploy-tools.txt"
  local stamp=".venv-tools/.invdash-installed"
  if [ ! -x .venv-tools/bin/python ]; then
    # .venv's interpreter: ensure_venv has made sure it exists and can make virtualenvs.
    .venv/bin/python -m venv .venv-tools
  fi
  if [ ! -f "$stamp" ] || [ "$pins" -nt "$stamp" ]; then
    .venv-tools/bin/python -m pip install --quiet --disable-pip-version-check --requirement "$pins"
    touch "$stamp"
  fi
}
