"""Operators' endpoints: ``/healthz`` (JSON: each part up or not; 503 when a required one is
down) and ``/metrics`` (Prometheus), both for the networks in PINGYI_METRICS_ALLOW only; and
the per-request hooks that count every request by route for ``/metrics``.

The client's address is the one ProxyFix found (PINGYI_TRUSTED_PROXIES). Behind a proxy the app
does not trust every request comes from the proxy's address, which may well be loopback: a
request carrying ``X-Forwarded-For`` is then refused, rather than taken for a local one."""

from __future__ import annotations

import ipaddress
import time
from functools import lru_cache

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from pingyi.monitoring import health, metrics

bp = Blueprint("ops", __name__)


@lru_cache(maxsize=32)
def _networks(allowed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n) for n in allowed)


def allowed(remote: str | None) -> bool:
    """May this client read the operators' endpoints?"""
    if not current_app.config.get("TRUSTED_PROXIES") and request.headers.get("X-Forwarded-For"):
        return False
    try:
        address = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in n for n in _networks(tuple(current_app.config.get("METRICS_ALLOW", ()))))


@bp.before_request
def _operators_only() -> None:
    if not allowed(request.remote_addr):
        abort(404)


@bp.route("/healthz")
def healthz():
    """Each part's state; 503 when a required part is down (the body names it)."""
    report = health.check()
    return jsonify(report), (503 if report["status"] == health.DOWN else 200)


@bp.route("/metrics", endpoint="metrics")
def metrics_page():
    return Response(metrics.render(), mimetype=None, content_type=metrics.CONTENT_TYPE)


@bp.before_app_request
def _started() -> None:
    g.pingyi_started = time.perf_counter()


@bp.after_app_request
def _count(response):
    started = g.get("pingyi_started")
    if started is not None:
        rule = request.url_rule
        metrics.observe_request(rule.rule if rule is not None else None, request.method, response.status_code,
                                time.perf_counter() - started)
    return response
