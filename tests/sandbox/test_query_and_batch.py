"""The query language and /batch as a QBO client uses them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.sandbox import jsonio
from bridge.sandbox.quickbooks.query import parse

from .qbo_client import sales_line


@pytest.fixture
def invoices(qbo):
    acme = qbo.customer("Acme Ltd")
    globex = qbo.customer("Globex O'Brien")
    made = []
    for number, (customer, amount) in enumerate([(acme, "10.00"), (globex, "30.00"), (acme, "20.00"),
                                                 (globex, "40.00")], start=1):
        made.append(qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]}, "DocNumber": f"Q-{number}",
                                           "TxnDate": f"2026-01-0{number}",
                                           "Line": [sales_line(D(amount), 1, D(amount))]}))
    return {"acme": acme, "globex": globex, "invoices": made}


def test_where_equals_and_ref_and_numbers(qbo, invoices):
    acme = invoices["acme"]["Id"]
    status, response = qbo.query(f"select * from Invoice where CustomerRef = '{acme}'")
    assert status == 200 and [i["DocNumber"] for i in response["Invoice"]] == ["Q-1", "Q-3"]
    response = qbo.query("SELECT * FROM invoice WHERE TotalAmt > '15.00' AND TotalAmt <= 30")[1]
    assert [i["DocNumber"] for i in response["Invoice"]] == ["Q-2", "Q-3"]


def test_in_like_and_escaped_quote(qbo, invoices):
    response = qbo.query("select * from Invoice where DocNumber IN ('Q-1', 'Q-4', 'nope')")[1]
    assert [i["DocNumber"] for i in response["Invoice"]] == ["Q-1", "Q-4"]
    response = qbo.query("select * from Customer where DisplayName LIKE 'glob%'")[1]
    assert [c["DisplayName"] for c in response["Customer"]] == ["Globex O'Brien"]
    response = qbo.query("select * from Customer where DisplayName = 'Globex O\\'Brien'")[1]
    assert len(response["Customer"]) == 1


def test_id_conditions_answer_only_those_objects_with_the_other_conditions_applied(qbo, invoices):
    ids = {i["DocNumber"]: i["Id"] for i in qbo.query("select * from Invoice")[1]["Invoice"]}
    response = qbo.query(f"select * from Invoice where Id IN ('{ids['Q-1']}', '{ids['Q-4']}', '99999')")[1]
    assert [i["DocNumber"] for i in response["Invoice"]] == ["Q-1", "Q-4"]
    response = qbo.query(f"select * from Invoice where Id IN ('{ids['Q-1']}', '{ids['Q-2']}') AND TotalAmt > '15'")[1]
    assert [i["DocNumber"] for i in response["Invoice"]] == ["Q-2"]
    assert qbo.query(f"select * from Invoice where Id = '{ids['Q-3']}'")[1]["Invoice"][0]["DocNumber"] == "Q-3"
    assert qbo.query("select * from Invoice where Id = '99999'")[1] == {}


def test_orderby_startposition_maxresults(qbo, invoices):
    response = qbo.query("select * from Invoice ORDERBY TotalAmt DESC STARTPOSITION 2 MAXRESULTS 2")[1]
    assert [i["TotalAmt"] for i in response["Invoice"]] == [D("30.00"), D("20.00")]
    assert response["startPosition"] == 2 and response["maxResults"] == 2
    response = qbo.query("select * from Invoice orderby TxnDate")[1]
    assert [i["DocNumber"] for i in response["Invoice"]] == ["Q-1", "Q-2", "Q-3", "Q-4"]


def test_metadata_time_filter(qbo, invoices):
    response = qbo.query("select * from Invoice where MetaData.LastUpdatedTime > '2020-01-01T00:00:00-08:00'")[1]
    assert len(response["Invoice"]) == 4
    assert qbo.query("select * from Invoice where MetaData.LastUpdatedTime > '2999-01-01'")[1] == {}


def test_count_and_empty_response(qbo, invoices):
    assert qbo.query("select count(*) from Invoice where TotalAmt > '15'")[1] == {"totalCount": 3}
    status, body = qbo.get("query", query="select * from Invoice where DocNumber = 'none'")
    assert status == 200 and body["QueryResponse"] == {} and "time" in body


def test_post_query_as_application_text(qbo, client, invoices):
    response = client.post(qbo.url("query"), data="select count(*) from Invoice",
                           headers={**qbo.headers(), "Content-Type": "application/text"})
    assert response.status_code == 200
    assert response.get_json()["QueryResponse"] == {"totalCount": 4}


def test_default_queries_return_active_names_only(qbo):
    customer = qbo.customer("Gone Ltd")
    qbo.create("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert qbo.query("select * from Customer")[1] == {}
    assert len(qbo.query("select * from Customer where Active = false")[1]["Customer"]) == 1


@pytest.mark.parametrize("text", ["select from Invoice", "select * from Invoice where", "select * Invoice",
                                  "select * from Invoice where TotalAmt > 1 OR TotalAmt < 2",
                                  "select * from Invoice where DocNumber != 'x'", ""])
def test_parse_errors_are_fault_4000(qbo, text):
    status, body = qbo.get("query", query=text)
    error = body["Fault"]["Error"][0]
    assert status == 400 and error["code"] == "4000" and error["Message"] == "Error parsing query"
    assert error["Detail"].startswith("QueryParserError")


def test_unknown_entity_or_property_is_4001(qbo):
    assert qbo.get("query", query="select * from Widget")[1]["Fault"]["Error"][0]["code"] == "4001"
    assert qbo.get("query", query="select * from Invoice where Colour = 'red'")[1][
        "Fault"]["Error"][0]["code"] == "4001"


def test_maxresults_defaults_to_100_and_caps_at_1000():
    assert parse("select * from Invoice").max_results == 100
    assert parse("select * from Invoice maxresults 5000").max_results == 1000


def test_companyinfo_is_queryable(qbo):
    response = qbo.query("select * from CompanyInfo")[1]
    assert response["CompanyInfo"][0]["Country"] == "US"


def _batch(qbo, client, items, **params):
    response = client.post(qbo.url("batch"), data=jsonio.dumps({"BatchItemRequest": items}), query_string=params,
                           headers={**qbo.headers(), "Content-Type": "application/json"})
    return response.status_code, jsonio.loads(response.data)


def test_batch_items_fail_alone(qbo, client):
    customer = qbo.customer()
    good = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(D("5.00"), 1, D("5.00"))]}
    status, body = _batch(qbo, client, [
        {"bId": "b1", "operation": "create", "Invoice": good},
        {"bId": "b2", "operation": "create", "Invoice": {**good, "CustomerRef": {"value": "999"}}},
        {"bId": "b3", "operation": "create", "Customer": {"DisplayName": "Second"}},
        {"bId": "q1", "Query": "select count(*) from Invoice"}])
    assert status == 200
    by_id = {item["bId"]: item for item in body["BatchItemResponse"]}
    assert by_id["b1"]["Invoice"]["TotalAmt"] == D("5.00")
    assert by_id["b2"]["Fault"]["Error"][0]["code"] == "2500" and by_id["b2"]["Fault"]["type"] == "ValidationFault"
    assert by_id["b3"]["Customer"]["DisplayName"] == "Second"
    assert by_id["q1"]["QueryResponse"] == {"totalCount": 1}


def test_batch_update_void_and_delete(qbo, client):
    customer = qbo.customer()
    one = qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(D("5.00"))]})
    two = qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(D("6.00"))]})
    status, body = _batch(qbo, client, [
        {"bId": "v", "operation": "update", "optionsData": "void", "Invoice": {"Id": one["Id"], "SyncToken": "0"}},
        {"bId": "d", "operation": "delete", "Invoice": {"Id": two["Id"], "SyncToken": "0"}}])
    by_id = {item["bId"]: item for item in body["BatchItemResponse"]}
    assert by_id["v"]["Invoice"]["PrivateNote"] == "Voided" and by_id["v"]["Invoice"]["TotalAmt"] == 0
    assert by_id["d"]["Invoice"]["status"] == "Deleted"


def test_batch_later_item_cannot_see_earlier_creation(qbo, client):
    status, body = _batch(qbo, client, [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
        {"bId": "i", "operation": "create",
         "Invoice": {"CustomerRef": {"value": "1"}, "Line": [sales_line(D("1.00"))]}}])
    by_id = {item["bId"]: item for item in body["BatchItemResponse"]}
    assert by_id["c"]["Customer"]["Id"] == "1"
    assert by_id["i"]["Fault"]["Error"][0]["code"] == "2500"


def test_batch_over_30_items_is_refused_whole(qbo, client):
    items = [{"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]
    status, body = _batch(qbo, client, items)
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "1040"
    assert qbo.query("select count(*) from Customer")[1] == {"totalCount": 0}
    status, body = _batch(qbo, client, items[:30])
    assert status == 200 and len(body["BatchItemResponse"]) == 30


def test_batch_requestid_replays_and_limits_lengths(qbo, client):
    items = [{"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Once"}}]
    first = _batch(qbo, client, items, requestid="batch-1")
    again = _batch(qbo, client, items, requestid="batch-1")
    assert first == again and qbo.query("select count(*) from Customer")[1] == {"totalCount": 1}
    assert _batch(qbo, client, items, requestid="x" * 37)[0] == 400
    long_bid = [{"bId": "b" * 11, "operation": "create", "Customer": {"DisplayName": "Long"}}]
    assert _batch(qbo, client, long_bid, requestid="batch-2")[0] == 400
