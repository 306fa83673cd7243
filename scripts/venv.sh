# Sourced by scripts/serve.sh and scripts/test.sh: make .venv and install invdash into it.
# ensure_venv SPEC   e.g. ensure_venv "."  or  ensure_venv ".[test]"

ensure_venv() {
  local spec="$1"
  if [ ! -x .venv/bin/python ]; then
    local python_bin
    python_bin="$(command -v python3.11 || command -v python3 || true)"
    if [ -z "$python_bin" ]; then
      echo "invdash: python3.11 (or python3) not found on PATH" >&2
      exit 1
    fi
    if ! "$python_bin" -m venv .venv; then
      rm -rf .venv
      if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        # Debian's python3 ships without ensurepip; python3-venv brings it.
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends python3-venv
        "$python_bin" -m venv .venv
      else
        echo "invdash: '$python_bin -m venv' failed; install python3-venv (apt-get install python3-venv)" >&2
        exit 1
      fi
    fi
  fi
  # One stamp per install spec: re-install only when pyproject.toml or the pins changed since.
  local stamp=".venv/.invdash-install-$(echo "$spec" | tr -c 'a-z' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    # The same runtime pins as the container image (scripts/image-install.sh), so the tests run
    # the versions the image ships.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
      --constraint constraints.txt -e "$spec"
    touch "$stamp"
  fi
}
