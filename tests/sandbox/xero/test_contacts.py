"""Contacts: the name is unique among active contacts, ContactNumber anchors and filters, updates merge."""

from __future__ import annotations

DUPLICATE = ("The contact name Acme Ltd is already assigned to another contact. The contact name must be "
             "unique across all active contacts.")


def test_contact_name_must_be_unique_among_active_contacts(xero):
    first = xero.contact("Acme Ltd")
    status, body = xero.put("Contacts", {"Contacts": [{"Name": "acme  ltd"}]})
    assert status == 400 and body["Elements"][0]["ValidationErrors"] == [{"Message": DUPLICATE.replace(
        "Acme Ltd", "acme  ltd")}]
    xero.post(f"Contacts/{first['ContactID']}", {"ContactStatus": "ARCHIVED"})
    assert xero.put("Contacts", {"Contacts": [{"Name": "Acme Ltd"}]})[0] == 200
    revived = xero.post(f"Contacts/{first['ContactID']}", {"ContactStatus": "ACTIVE"})
    assert revived[0] == 400 and revived[1]["Elements"][0]["ValidationErrors"] == [{"Message": DUPLICATE}]


def test_two_twins_in_one_request_fail_together(xero):
    status, body = xero.put("Contacts", {"Contacts": [{"Name": "Acme Ltd"}, {"Name": "Acme Ltd"}]})
    assert status == 400 and len(body["Elements"]) == 1
    assert xero.get("Contacts")[1]["Contacts"] == []


def test_name_is_required_and_fields_are_checked(xero):
    status, body = xero.put("Contacts", {"Contacts": [{"EmailAddress": "not-an-email", "ContactNumber": "x" * 51}]},
                            summarizeErrors="false")
    messages = [e["Message"] for e in body["Contacts"][0]["ValidationErrors"]]
    assert status == 200 and body["Contacts"][0]["HasValidationErrors"] is True
    assert "The contact name must be specified." in messages and "Email address must be valid." in messages
    assert "ContactNumber must not be more than 50 characters long" in messages


def test_contact_number_filters_and_finds(xero):
    xero.contact("Acme Ltd", ContactNumber="EXT-123", EmailAddress="ap@acme.test")
    xero.contact("Beta Ltd", ContactNumber="EXT-456")
    found = xero.get("Contacts", where='ContactNumber=="EXT-123"')[1]["Contacts"]
    assert [c["Name"] for c in found] == ["Acme Ltd"] and found[0]["EmailAddress"] == "ap@acme.test"
    assert xero.get("Contacts/EXT-456")[1]["Contacts"][0]["Name"] == "Beta Ltd"
    assert [c["Name"] for c in xero.get("Contacts", where='EmailAddress=="AP@ACME.TEST"')[1]["Contacts"]] == \
        ["Acme Ltd"]
    assert [c["Name"] for c in xero.get("Contacts", where='Name=="beta ltd"')[1]["Contacts"]] == ["Beta Ltd"]
    duplicate = xero.put("Contacts", {"Contacts": [{"Name": "Gamma", "ContactNumber": "EXT-123"}]})
    assert duplicate[0] == 400


def test_post_updates_by_contact_id_or_number(xero):
    contact = xero.contact("Acme Ltd", ContactNumber="EXT-1")
    by_id = xero.post("Contacts", {"Contacts": [{"ContactID": contact["ContactID"], "EmailAddress": "a@b.test",
                                                 "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "0400"}]}]})
    updated = by_id[1]["Contacts"][0]
    assert updated["EmailAddress"] == "a@b.test" and updated["Name"] == "Acme Ltd"
    assert updated["Phones"] == [{"PhoneType": "MOBILE", "PhoneNumber": "0400"}]
    by_number = xero.post("Contacts", {"Contacts": [{"ContactNumber": "EXT-1", "Name": "Acme Group"}]})
    assert by_number[1]["Contacts"][0]["ContactID"] == contact["ContactID"]
    assert [c["Name"] for c in xero.get("Contacts")[1]["Contacts"]] == ["Acme Group"]
    unknown = xero.post("Contacts", {"Contacts": [{"ContactID": "00000000-0000-0000-0000-000000000001"}]})
    assert unknown[0] == 400


def test_list_ids_archived_search_and_summary(xero):
    keep = xero.contact("Keep Me", FirstName="Kim")
    gone = xero.contact("Archive Me")
    xero.post(f"Contacts/{gone['ContactID']}", {"ContactStatus": "ARCHIVED"})
    assert [c["Name"] for c in xero.get("Contacts")[1]["Contacts"]] == ["Keep Me"]
    assert len(xero.get("Contacts", includeArchived="true")[1]["Contacts"]) == 2
    assert [c["Name"] for c in xero.get("Contacts", IDs=gone["ContactID"])[1]["Contacts"]] == ["Archive Me"]
    assert [c["Name"] for c in xero.get("Contacts", searchTerm="kim")[1]["Contacts"]] == ["Keep Me"]
    summary = xero.get("Contacts", summaryOnly="true")[1]["Contacts"][0]
    assert summary["ContactID"] == keep["ContactID"] and "Addresses" not in summary


def test_default_currency_must_be_the_base_currency(xero, xero_au):
    assert xero.put("Contacts", {"Contacts": [{"Name": "Euro Co", "DefaultCurrency": "EUR"}]})[0] == 400
    assert xero_au.put("Contacts", {"Contacts": [{"Name": "Aussie Co", "DefaultCurrency": "AUD"}]})[0] == 200
