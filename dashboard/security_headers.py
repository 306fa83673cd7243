"""Security headers on every response: a Content-Security-Policy, no MIME sniffing, no referrer
beyond the origin, and who may embed the pages in a frame (``INVDASH_FRAME_ANCESTORS``).

The policy allows scripts from invdash itself and the inline scripts Dash writes into its page
(the renderer's start and each clientside callback), by their hashes (``Dash.csp_hashes``,
computed once the app is complete): no ``'unsafe-inline'`` and no ``'unsafe-eval'`` for scripts.
Nothing here needs eval: Plotly's SVG traces (never its WebGL ones, whose shader compiler
would), AG Grid's ``{"function": ...}`` expressions (parsed, not evaluated) and Mantine.
Styles must allow ``'unsafe-inline'``: Plotly, AG Grid, Mantine and Dash add ``<style>``
elements at run time. Images allow ``data:`` and ``blob:`` (AG Grid's icons, Plotly's
downloads).
"""

from __future__ import annotations

from dash import Dash
from flask import Flask, Response

from dashboard.settings import Settings


def content_security_policy(script_hashes: list[str], frame_ancestors: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script_hashes]),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def register_security_headers(app: Dash, settings: Settings) -> None:
    """Add the headers to every response. Call it last: the hashes are of the inline scripts
    the app has when it is called (a clientside callback added later would be blocked)."""
    policy = content_security_policy(list(app.csp_hashes()), settings.frame_ancestors)
    # For browsers without frame-ancestors; an origin list has no X-Frame-Options equivalent.
    frame_options = {"'none'": "DENY", "'self'": "SAMEORIGIN"}.get(settings.frame_ancestors)

    server: Flask = app.server

    @server.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        if frame_options is not None:
            response.headers["X-Frame-Options"] = frame_options
        return response
