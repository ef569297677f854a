"""Alerts: sync.failed and connection.needs_reauth are events, and an hourly e-mail digest per account."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bridge import store
from bridge.events import alerts
from bridge.store.models import Event, utcnow
from bridge.sync import queue
from bridge.sync.tokens import mark_needs_reauth
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect_quickbooks, make_key, wait_for


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        """Keep the message."""
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def inbox():
    """A local SMTP server on 127.0.0.1."""
    handler = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it is up by connecting to it)
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def events_of(app, name: str) -> list[Event]:
    """Every recorded event of one kind, oldest first."""
    with app.app_context():
        return list(store.session().execute(sa.select(Event).where(Event.event == name).order_by(Event.seq)).scalars())


def fail_a_payment(client, key, connection_id, external_id) -> dict:
    """A payment for an invoice never sent: a failed operation."""
    op = client.post(f"/v1/connections/{connection_id}/payments", headers=auth(key), json={
        "external_id": external_id, "invoice_external_id": "never-sent", "amount": "5.00",
        "date": "2026-01-02"}).get_json()
    return wait_for(client, key, op["id"])


def test_a_failed_sync_is_an_event_carrying_the_operation(client, api_key, runtime, app):
    connection_id = connect_quickbooks(client, api_key)
    failed = fail_a_payment(client, api_key, connection_id, "p-1")
    [event] = events_of(app, "sync.failed")
    assert event.connection_id == connection_id
    assert event.data["id"] == failed["id"] and event.data["status"] == "failed"
    assert event.data["error_class"] == "mapping" and event.data["errors"] == failed["errors"]


def test_needs_reauth_is_one_event_per_transition(client, api_key, app):
    connection_id = connect_quickbooks(client, api_key)
    mark_needs_reauth(app, connection_id, "invalid_grant")
    mark_needs_reauth(app, connection_id, "invalid_grant again")
    [event] = events_of(app, "connection.needs_reauth")
    shown = client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()
    assert event.data == shown and shown["status"] == "needs_reauth"


def test_the_alert_address_is_set_shown_and_checked(client, api_key):
    assert client.get("/v1/me/alerts", headers=auth(api_key)).get_json()["email"] is None
    response = client.put("/v1/me/alerts", json={"email": "ops@acme.example"}, headers=auth(api_key))
    assert response.status_code == 200 and response.get_json()["email"] == "ops@acme.example"
    assert client.get("/v1/me/alerts", headers=auth(api_key)).get_json()["email"] == "ops@acme.example"
    bad = client.put("/v1/me/alerts", json={"email": "not an address"}, headers=auth(api_key))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "email"
    off = client.put("/v1/me/alerts", json={"email": None}, headers=auth(api_key)).get_json()
    assert off["email"] is None


def test_the_digest_batches_alerts_and_sends_at_most_one_an_hour(make_app, inbox):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{inbox.port}", ALERT_FROM="alerts@bridge.example")
    client = app.test_client()
    key = make_key(app, "acme")
    quiet = make_key(app, "globex")  # no address: never mailed
    connection_id = connect_quickbooks(client, key)
    assert client.put("/v1/me/alerts", json={"email": "ops@acme.example"}, headers=auth(key)).status_code == 200
    queue.connection(app).set(alerts.TICK_KEY, 1, ex=600)  # this test runs the digest itself, on its own clock
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        first = fail_a_payment(client, key, connection_id, "p-1")
        second = fail_a_payment(client, key, connection_id, "p-2")
        start = utcnow()
        assert alerts.send_due_digests(app, now=start) == 1
        [(to, mail)] = inbox.messages
        assert to == ["ops@acme.example"] and mail["From"] == "alerts@bridge.example"
        assert mail["Subject"] == "Invoice Bridge: 2 alerts for acme"
        text = mail.get_content()
        assert first["id"] in text and second["id"] in text and "[mapping]" in text

        third = fail_a_payment(client, key, connection_id, "p-3")
        assert alerts.send_due_digests(app, now=start + timedelta(minutes=59)) == 0
        assert len(inbox.messages) == 1
        assert alerts.send_due_digests(app, now=start + timedelta(minutes=61)) == 1
        later = inbox.messages[1][1].get_content()
        assert third["id"] in later and first["id"] not in later
        # nothing new: no e-mail, however long it has been
        assert alerts.send_due_digests(app, now=start + timedelta(hours=5)) == 0
        assert len(inbox.messages) == 2
    finally:
        runtime.stop()
    assert quiet  # the other account had no address and got nothing
    assert all(to == ["ops@acme.example"] for to, _ in inbox.messages)


def test_no_smtp_url_means_no_digest_and_nothing_scheduled(client, api_key, app):
    connection_id = connect_quickbooks(client, api_key)
    client.put("/v1/me/alerts", json={"email": "ops@acme.example"}, headers=auth(api_key))
    mark_needs_reauth(app, connection_id, "invalid_grant")
    assert alerts.send_due_digests(app) == 0
    alerts.schedule(app)
    assert queue.get_queue(queue.EVENTS, app).count == 0


def test_the_digest_is_scheduled_once_a_minute(make_app, inbox):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{inbox.port}")
    alerts.schedule(app)
    alerts.schedule(app)
    jobs = queue.get_queue(queue.EVENTS, app).jobs
    assert [job.func_name for job in jobs] == ["bridge.events.alerts.send_digests_job"]


def test_an_unreachable_smtp_server_keeps_the_alerts_for_later(make_app, inbox):
    app = make_app(SMTP_URL="smtp://127.0.0.1:9")  # nothing listens on the discard port
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    client.put("/v1/me/alerts", json={"email": "ops@acme.example"}, headers=auth(key))
    mark_needs_reauth(app, connection_id, "invalid_grant")
    assert alerts.send_due_digests(app) == 0
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{inbox.port}"
    assert alerts.send_due_digests(app) == 1
    assert "needs to be authorized again" in inbox.messages[0][1].get_content()


@pytest.mark.parametrize("url, expected", [
    ("smtp://mailer:s%40cret@mail.example:2525",
     {"host": "mail.example", "port": 2525, "secure": False, "user": "mailer", "password": "s@cret"}),
    ("smtps://mail.example", {"host": "mail.example", "port": 465, "secure": True, "user": None, "password": None}),
    ("smtp://mail.example", {"host": "mail.example", "port": 25, "secure": False, "user": None, "password": None}),
])
def test_smtp_urls_are_read(url, expected):
    assert alerts.parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_a_bad_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        alerts.parse_smtp_url(url)


def test_the_digest_time_moves_only_when_sent(make_app, inbox):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{inbox.port}")
    key = make_key(app, "acme")
    client = app.test_client()
    client.put("/v1/me/alerts", json={"email": "ops@acme.example"}, headers=auth(key))
    assert alerts.send_due_digests(app) == 0
    assert client.get("/v1/me/alerts", headers=auth(key)).get_json()["last_digest_at"] is None
    assert inbox.messages == []
