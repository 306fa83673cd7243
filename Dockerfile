# invdash: the dashboard served by gunicorn (gthread workers), as the Kustomize manifests in
# deploy/ run it: numeric non-root user, read-only root filesystem, writable /tmp only.
# Build: docker build -t invdash .   Run: see docs/deploy.md.

# --- build: a virtualenv with invdash and its pinned dependencies ------------------------------
# The same base in both stages: the virtualenv links to its /usr/local/bin/python3.11.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest out of the context too).
COPY pyproject.toml README.md constraints.txt ./
COPY scripts/image-install.sh scripts/
COPY assets/ assets/
COPY components/ components/
COPY dashboard/ dashboard/
COPY queries/ queries/
COPY demo/ demo/
# The same script the tests run (tests/deploy/test_image.py).
RUN sh scripts/image-install.sh /opt/invdash

# --- runtime: the virtualenv on a clean base, nothing else -------------------------------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="invdash" \
      org.opencontainers.image.description="Real-time inventory dashboard with live cluster telemetry" \
      org.opencontainers.image.licenses="Apache-2.0"

# A passwd entry for uid 10001: libpq looks the user up when a database URL names none.
RUN groupadd --system --gid 10001 invdash \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin invdash

COPY --from=build /opt/invdash /opt/invdash

# Everything that writes goes under /tmp, the one writable mount (an emptyDir in Kubernetes):
# home, XDG directories (the default SQLite database), temporary files. gunicorn's config makes
# the multiprocess metrics directory under TMPDIR; PROMETHEUS_MULTIPROC_DIR stays unset, since a
# fixed one would put `invdash seed` and `invdash check` in multiprocess mode with no directory.
# Bytecode was compiled at build time; writing more would fail on the read-only filesystem.
ENV PATH=/opt/invdash/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    XDG_DATA_HOME=/tmp/.local/share \
    XDG_STATE_HOME=/tmp/.local/state \
    MALLOC_ARENA_MAX=2 \
    INVDASH_PORT=8050

WORKDIR /tmp
USER 10001:10001
EXPOSE 8050 9050

# Standard library only: the slim base has no curl, and the image needs none.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('INVDASH_PORT', '8050') + '/healthz', timeout=4)"]

# Exec form: gunicorn is PID 1 and gets SIGTERM itself, so workers finish in-flight requests.
CMD ["gunicorn", "--config", "python:dashboard.gunicorn_conf", "--no-control-socket", "dashboard.wsgi:server"]
