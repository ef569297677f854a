"""Trigger feeds: GET /v1/triggers/<event>, newest first, stable ids, filters and pages."""

from __future__ import annotations

from bridge import events
from bridge.store.models import Connection
from tests.conftest import auth, make_key


def account_of(client, key: str) -> str:
    """The account id behind a key."""
    return client.get("/v1/me", headers=auth(key)).get_json()["account_id"]


def add_connection(app, account_id: str, connection_id: str) -> str:
    """An active connection row (no OAuth needed to own events)."""
    with app.extensions["bridge.sessions"]() as db:
        db.add(Connection(id=connection_id, account_id=account_id, provider="quickbooks", status="active"))
        db.commit()
    return connection_id


def emit(app, account_id: str, event: str, connection_id: str | None, **data) -> str:
    """Record one event, committed."""
    return events.publish(app, account_id=account_id, event=event, connection_id=connection_id, data=data)


def test_feed_lists_the_events_of_that_name_newest_first_as_envelopes(app, client, api_key):
    account = account_of(client, api_key)
    con = add_connection(app, account, "con_feed1")
    first = emit(app, account, "invoice.paid", con, external_id="inv-1", balance="0.00")
    emit(app, account, "invoice.created", con, external_id="inv-2")
    second = emit(app, account, "invoice.paid", con, external_id="inv-3", balance="0.00")

    feed = client.get("/v1/triggers/invoice.paid", headers=auth(api_key))
    assert feed.status_code == 200
    body = feed.get_json()
    assert [item["id"] for item in body["data"]] == [second, first]
    assert body["next"] is None
    item = body["data"][0]
    assert set(item) == {"id", "event", "occurred_at", "connection_id", "data"}
    assert item["event"] == "invoice.paid" and item["connection_id"] == con
    assert item["data"] == {"external_id": "inv-3", "balance": "0.00"}
    assert item["occurred_at"].endswith("+00:00")
    # the same event keeps its id from one poll to the next (Zapier and Make dedupe on it)
    again = client.get("/v1/triggers/invoice.paid", headers=auth(api_key)).get_json()
    assert again["data"] == body["data"]


def test_feed_pages_with_limit_and_after(app, client, api_key):
    account = account_of(client, api_key)
    ids = [emit(app, account, "sync.succeeded", None, id=f"op_{n}") for n in range(5)]
    seen, after = [], None
    while True:
        query = {"limit": 2, **({"after": after} if after else {})}
        page = client.get("/v1/triggers/sync.succeeded", query_string=query, headers=auth(api_key)).get_json()
        assert len(page["data"]) <= 2
        seen += [item["id"] for item in page["data"]]
        after = page["next"]
        if after is None:
            break
    assert seen == list(reversed(ids))
    assert client.get("/v1/triggers/sync.succeeded", query_string={"limit": 201},
                      headers=auth(api_key)).status_code == 422
    bad = client.get("/v1/triggers/sync.succeeded", query_string={"after": "!!"}, headers=auth(api_key))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "after"


def test_feed_filters_by_connection_and_refuses_anothers_connection(app, client, api_key):
    account = account_of(client, api_key)
    one, two = add_connection(app, account, "con_one"), add_connection(app, account, "con_two")
    on_one = emit(app, account, "payment.received", one, amount="10.00")
    emit(app, account, "payment.received", two, amount="20.00")
    feed = client.get("/v1/triggers/payment.received", query_string={"connection_id": one},
                      headers=auth(api_key)).get_json()
    assert [item["id"] for item in feed["data"]] == [on_one]

    other_key = make_key(app, "globex")
    theirs = add_connection(app, account_of(client, other_key), "con_theirs")
    refused = client.get("/v1/triggers/payment.received", query_string={"connection_id": theirs},
                         headers=auth(api_key))
    assert refused.status_code == 404
    assert refused.headers["Content-Type"].startswith("application/problem+json")


def test_an_account_never_sees_another_accounts_events(app, client, api_key):
    emit(app, account_of(client, api_key), "customer.created", None, external_id="cus-1")
    other_key = make_key(app, "globex")
    assert client.get("/v1/triggers/customer.created", headers=auth(other_key)).get_json()["data"] == []
    assert len(client.get("/v1/triggers/customer.created", headers=auth(api_key)).get_json()["data"]) == 1


def test_unknown_event_is_a_404_naming_it(client, api_key):
    response = client.get("/v1/triggers/invoice.exploded", headers=auth(api_key))
    assert response.status_code == 404
    assert "invoice.exploded" in response.get_json()["detail"]
    assert client.get("/v1/triggers/invoice.paid").status_code == 401
