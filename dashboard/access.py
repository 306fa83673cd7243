"""Who may see the pages: no one is asked (``INVDASH_AUTH=off``, the default, for a laptop on
127.0.0.1), users of a password file (``basic``), or the user an authenticating proxy in front
of invdash names in a header (``proxy``, as oauth2-proxy sets ``X-Forwarded-User``), trusted only
from the proxy's own addresses.

When on, every route needs it, the Dash routes (``/_dash-*``, the component suites) included,
except the three a cluster needs without a user: ``/healthz`` and ``/readyz`` for the kubelet and
load balancers, ``/metrics`` for Prometheus (which carries invdash's own health only: request
rates and latencies, cache, source errors and queries, never a business figure).

The password file has one ``user:hash`` line per user, bcrypt hashes as ``htpasswd -B`` or
``invdash passwd`` writes them (``#`` starts a comment). It is read again when it changes, so a
user is added or removed without a restart. bcrypt is slow on purpose (about 0.1 s a check at its
default cost), and a screen sends several requests a refresh: each process remembers credentials
it has checked (by a keyed hash, never the password) until the file changes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from flask import Flask, Response, request

from dashboard.settings import Settings

log = logging.getLogger("invdash")

# /metrics/business asks a bearer token of its own (dashboard.business_metrics).
OPEN_ROUTES = ("healthz", "readyz", "metrics", "metrics/business")
REMEMBERED = 1024  # checked credentials a process keeps
USER_NAME_CHARACTERS = 256
# $2a$/$2b$/$2y$, the cost, then 22 characters of salt and 31 of hash in bcrypt's base64.
BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


class UsersFileError(Exception):
    """The password file cannot be used; the message names the file and the line."""


def read_users(path: Path) -> dict[str, bytes]:
    """User -> bcrypt hash from a password file, or UsersFileError saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsersFileError(f"cannot read {path}: {error}") from None
    users: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, colon, hashed = line.partition(":")
        if not colon or not user or not BCRYPT_HASH.fullmatch(hashed):
            raise UsersFileError(
                f"{path} line {number}: expected user:bcrypt-hash (htpasswd -B or invdash passwd)"
            )
        # htpasswd writes $2y$, bcrypt reads it as $2b$ (the same algorithm).
        users[user] = ("$2b$" + hashed[4:]).encode()
    if not users:
        raise UsersFileError(f"{path} holds no users")
    return users


def hash_password(password: str) -> str:
    """A bcrypt hash for a users file line."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


class PasswordFile:
    """The users of a password file, read again when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = secrets.token_bytes(32)
        self._guard = threading.Lock()
        self._users = read_users(path)
        self._stamp = self._file_stamp()
        self._checked: OrderedDict[bytes, str] = OrderedDict()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _current_users(self) -> dict[str, bytes]:
        stamp = self._file_stamp()
        with self._guard:
            if stamp != self._stamp and stamp is not None:
                try:
                    self._users = read_users(self.path)
                    self._checked.clear()
                except UsersFileError as error:
                    # Keep the users that were good: a file caught half-written must not lock
                    # every screen out.
                    log.error("users file not reloaded: %s", error)
                self._stamp = stamp
            return self._users

    def check(self, user: str, password: str) -> bool:
        users = self._current_users()
        known = users.get(user)
        if known is None or len(user) > USER_NAME_CHARACTERS:
            return False
        token = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        with self._guard:
            if self._checked.get(token) == user:
                self._checked.move_to_end(token)
                return True
        if not bcrypt.checkpw(password.encode(), known):
            return False
        with self._guard:
            self._checked[token] = user
            while len(self._checked) > REMEMBERED:
                self._checked.popitem(last=False)
        return True


@dataclass(frozen=True)
class TrustedProxies:
    """The addresses an authenticating proxy connects from, and the header naming its user."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    header: str

    def user(self, remote_address: str | None, headers: dict[str, str]) -> str | bool | None:
        """The user the proxy names; None when it names none; False when the request does not
        come from a trusted proxy (its header is then ignored, whoever set it)."""
        try:
            address = ipaddress.ip_address(remote_address or "")
        except ValueError:
            return False
        if not any(address in network for network in self.networks):
            return False
        user = headers.get(self.header, "").strip()
        return user if user and len(user) <= USER_NAME_CHARACTERS else None


def _unauthorised(basic: bool) -> Response:
    response = Response("sign-in required\n", status=401, mimetype="text/plain")
    if basic:
        response.headers["WWW-Authenticate"] = 'Basic realm="invdash", charset="UTF-8"'
    return response


def register_access_control(server: Flask, settings: Settings, routes_prefix: str) -> None:
    """Require a user on every route but OPEN_ROUTES, as INVDASH_AUTH says (nothing when off).
    The password file must be readable now (startup checks it and names the setting)."""
    if settings.auth == "off":
        return
    open_paths = {f"{routes_prefix}{route}" for route in OPEN_ROUTES} | {
        f"/{route}" for route in OPEN_ROUTES
    }
    passwords = (
        PasswordFile(settings.auth_users_file)
        if settings.auth == "basic" and settings.auth_users_file is not None
        else None
    )
    proxies = TrustedProxies(
        tuple(ipaddress.ip_network(n, strict=False) for n in settings.auth_proxy_networks),
        settings.auth_proxy_header,
    )

    @server.before_request
    def require_user() -> Response | None:
        if request.path in open_paths:
            return None
        if passwords is not None:
            credentials = request.authorization
            if (
                credentials is not None
                and credentials.type == "basic"
                and credentials.username is not None
                and passwords.check(credentials.username, credentials.password or "")
            ):
                return None
            return _unauthorised(basic=True)
        user = proxies.user(request.remote_addr, dict(request.headers))
        if user is False:
            return Response("forbidden: not from the sign-in proxy\n", 403, mimetype="text/plain")
        if user is None:
            return _unauthorised(basic=False)
        return None
