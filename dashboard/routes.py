"""Plain HTTP routes beside the Dash pages: readiness for load balancers and screens."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from dashboard.context import DashboardContext
from dashboard.page_registry import BY_PATH


def register_readiness(server: Flask, context: DashboardContext) -> None:
    @server.route("/readyz")
    def readyz() -> Response:
        """JSON: {"status": "ready", "sources": [{name, status, message, details}]}.

        Always 200 while the app can serve pages: a down source is reported, not fatal,
        because its panels say so and every other panel keeps working.
        """
        sources = [
            {
                "name": name,
                "status": health.status,
                "message": health.message,
                "details": health.details,
            }
            for name, health in context.source_health()
        ]
        return jsonify({"status": "ready", "sources": sources})


def register_not_found(server: Flask, prefix: str) -> None:
    """An unknown page answers 404. Dash serves its page for every path, so the browser still
    gets the app, which names the unknown page and shows Inventory; a link checker, a monitor or
    a mistyped bookmark's history sees the status a missing page should have."""

    @server.after_request
    def not_found(response: Response) -> Response:
        if (
            request.method == "GET"
            and response.status_code == 200
            and response.mimetype == "text/html"
            and request.path.startswith(prefix)
        ):
            page = "/" + request.path[len(prefix) :].strip("/")
            if page not in BY_PATH:
                response.status_code = 404
        return response
