"""WSGI entry: ``gunicorn dashboard.wsgi:server``. Settings are read once, here."""

from __future__ import annotations

from dashboard.app import create_app
from dashboard.startup import startup

# gunicorn's exit status for "worker failed to boot": its arbiter then stops instead of
# respawning workers that would fail the same way forever, so a pod crash-loops with the reason.
WORKER_BOOT_ERROR = 3

try:
    configured = startup()
except SystemExit:
    raise SystemExit(WORKER_BOOT_ERROR) from None

app = create_app(*configured)
server = app.server
