"""WSGI entry: ``gunicorn dashboard.wsgi:server``. Settings are read once, here."""

from __future__ import annotations

from dashboard.app import create_app
from dashboard.startup import startup

app = create_app(*startup())
server = app.server
