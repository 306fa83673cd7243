# Sourced by scripts/test.sh and scripts/bench.sh: the Debian packages they drive for real.
# ensure_system_packages CALLER required|optional PACKAGE...
#   PACKAGE is one of chromium, chromium-driver, postgresql, prometheus, redis-server. As root
#   (with apt-get) the missing ones are installed; otherwise "required" stops with the command
#   to run, "optional" names them and goes on (the caller says what cannot run without them).

missing_system_packages() {
  local missing=() package
  for package in "$@"; do
    case "$package" in
      chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
      chromium-driver) command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver) ;;
      postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql) ;;
      prometheus)
        if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
          missing+=(prometheus)
        fi
        ;;
      redis-server) command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
      *)
        echo "missing_system_packages: unknown package $package" >&2
        return 2
        ;;
    esac
  done
  echo "${missing[*]:-}"
}

ensure_system_packages() {
  local caller="$1" need="$2"
  shift 2
  local missing
  missing="$(missing_system_packages "$@")"
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$caller: installing missing system packages: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y --no-install-recommends $missing
    missing="$(missing_system_packages "$@")"
    if [ -n "$missing" ]; then
      echo "$caller: still missing after apt-get install: $missing" >&2
      exit 1
    fi
  elif [ "$need" = required ]; then
    echo "$caller: missing system packages: $missing" >&2
    echo "Install them (Debian 12) and run again, or run this script as root to install them:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
  else
    echo "$caller: missing system packages: $missing" >&2
  fi
}
