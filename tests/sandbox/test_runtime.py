"""Exact JSON money, the scalable clock, settings lines, and a real in-process server."""

from __future__ import annotations

from decimal import Decimal as D

import requests

from bridge.sandbox import env_lines, jsonio, serve
from bridge.sandbox.clock import SandboxClock


def test_decimals_are_written_as_number_literals():
    assert jsonio.dumps({"a": D("1234.50"), "b": D("1E+2"), "c": [D("0.10"), 3, True, None, "x"]}) == \
        '{"a":1234.50,"b":100,"c":[0.10,3,true,null,"x"]}'
    assert jsonio.loads('{"a": 0.1}')["a"] == D("0.1")


def test_clock_scales_and_jumps():
    now = [1000.0]
    clock = SandboxClock(time_scale=60, real=lambda: now[0])
    start = clock.now()
    now[0] += 1
    assert clock.now() - start == 60
    clock.set_time_scale(1)
    now[0] += 1
    assert clock.now() - start == 61
    clock.advance(100)
    assert clock.now() - start == 161
    assert clock.real_seconds_ceil(60) == 60


def test_env_lines_point_the_bridge_at_the_sandbox():
    lines = dict(line.split("=", 1) for line in env_lines(5123) if line.startswith("BRIDGE_QUICKBOOKS_"))
    assert lines == {
        "BRIDGE_QUICKBOOKS_CLIENT_ID": "sandbox-quickbooks-client",
        "BRIDGE_QUICKBOOKS_CLIENT_SECRET": "sandbox-quickbooks-secret",
        "BRIDGE_QUICKBOOKS_AUTHORIZE_URL": "http://127.0.0.1:5123/quickbooks/connect/oauth2",
        "BRIDGE_QUICKBOOKS_TOKEN_URL": "http://127.0.0.1:5123/quickbooks/oauth2/v1/tokens/bearer",
        "BRIDGE_QUICKBOOKS_REVOKE_URL": "http://127.0.0.1:5123/quickbooks/v2/oauth2/tokens/revoke",
        "BRIDGE_QUICKBOOKS_API_BASE_URL": "http://127.0.0.1:5123/quickbooks",
        "BRIDGE_QUICKBOOKS_WEBHOOK_KEY": "sandbox-quickbooks-verifier",
    }


def test_serve_runs_a_real_server_on_a_free_port():
    server = serve()
    try:
        assert server.port > 0
        realms = requests.get(f"{server.url}/_sandbox/quickbooks/realms", timeout=5)
        assert realms.status_code == 200 and len(realms.json()) == 2
    finally:
        server.shutdown()
