"""The simulated company and cluster: seed data, demo order traffic, demo telemetry.

Only the demo commands (``invdash seed``, ``invdash demo-orders``) and the demo wiring
(``dashboard.demo``) import it; a production deployment runs none of it.
"""
