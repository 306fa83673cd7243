"""Plain HTTP routes beside the Dash pages: readiness for load balancers and screens."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from dashboard.context import DashboardContext


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
