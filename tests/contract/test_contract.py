"""The contract every ledger adapter keeps: the same normalized operations give the same normalized results
on QuickBooks Online, Xero and FreshBooks, against the sandbox emulators (one suite, parametrized over the
three ledgers by the `ledger` fixture, like singer-sdk's get_tap_test_class).

Where a ledger genuinely differs, the difference is asserted explicitly, per ledger, with the reason.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bridge.errors import (
    LedgerNotFound,
    LedgerRateLimited,
    LedgerRejected,
    ReauthRequired,
    RetryableLedgerError,
    UncertainOutcome,
)
from bridge.ledgers.base import BatchItem, LedgerRef

D = Decimal
CENT = D("0.01")
TAXABLE = D("2") * D("100.05")
"""The "standard" line of `invoice_doc`: 200.10 before tax."""
ZERO_RATED = D("1.5") * D("40.10")
"""The "zero" line of `invoice_doc`: 60.15."""
INVOICE_KEYS = {"ledger_id", "external_id", "number", "customer", "issue_date", "due_date", "currency", "lines",
                "totals", "balance", "status"}
"""What every read-back invoice carries (vendor extras may come beside them)."""
CUSTOMER_KEYS = {"ledger_id", "external_id", "name", "email", "phone", "address", "currency", "active"}
ACCOUNT_KEYS = {"id", "code", "name", "type", "class", "currency", "bank", "active"}
TAX_RATE_KEYS = {"id", "name", "rate", "active"}
ITEM_KEYS = {"id", "code", "name", "unit_price", "income_account", "active"}
"""base.Ledger's documented shapes; vendor leftovers belong under `extra` (the libcloud habit)."""
UNKNOWN_CUSTOMER = {"quickbooks": "999999", "xero": str(uuid.uuid4()), "freshbooks": "999999"}
BATCH_MAX = {"quickbooks": 30, "xero": 50, "freshbooks": 0}


def tax_on(amount: Decimal, rate: Decimal) -> Decimal:
    """Tax as the ledgers compute it: rate percent of the amount, rounded half up to cents."""
    return (amount * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def expected_totals(ledger, zero_rated: Decimal = ZERO_RATED) -> dict:
    """Subtotal, tax and total of `invoice_doc` at the ledger's seeded standard rate."""
    tax = tax_on(TAXABLE, ledger.profile.standard_rate)
    subtotal = (TAXABLE + zero_rated).quantize(CENT)
    return {"subtotal": subtotal, "tax": tax, "total": subtotal + tax}


def assert_money(found: dict, expected: dict) -> None:
    """Every amount is a Decimal equal to the expected one."""
    for key, value in expected.items():
        assert isinstance(found[key], Decimal), (key, found[key])
        assert found[key] == value, (key, found[key], value)


def error_fields(exc: Exception) -> list[str]:
    """The normalized field paths an error names."""
    return [error.get("field") for error in getattr(exc, "errors", [])]


# --- 1. customers ---------------------------------------------------------------------------------------

def test_customer_upsert_creates_updates_and_links_without_duplicates(ledger):
    adapter = ledger.adapter
    created = adapter.upsert_customer(ledger.customer_doc(), None, ledger.key("customer"))
    assert created.ledger_id
    assert CUSTOMER_KEYS <= set(created.object), set(created.object)
    assert created.object["name"] == "Contract Customer Ltd"
    assert created.object["email"] == "ap@contract.example"
    assert created.object["external_id"] == "cus-contract-1"
    assert created.warnings == []

    updated = adapter.upsert_customer(ledger.customer_doc(phone="555-0199"), LedgerRef(created.ledger_id),
                                      ledger.key("customer"))
    assert updated.ledger_id == created.ledger_id
    assert updated.object["phone"] == "555-0199"
    assert ledger.stored_customer_names().count("Contract Customer Ltd") == 1

    # The same customer sent again without its ledger ref (a lost link) is found, not created twice.
    again = adapter.upsert_customer(ledger.customer_doc(), None, ledger.key("customer"))
    assert again.ledger_id == created.ledger_id
    # Another source customer with the same name and e-mail links to the existing one, with a warning.
    other = adapter.upsert_customer(ledger.customer_doc("cus-contract-other"), None, ledger.key("customer"))
    assert other.ledger_id == created.ledger_id
    assert any("existing" in warning.lower() for warning in other.warnings), other.warnings
    assert ledger.stored_customer_names().count("Contract Customer Ltd") == 1


# --- 2. invoices ----------------------------------------------------------------------------------------

def test_invoice_is_written_read_back_updated_and_found(ledger):
    adapter = ledger.adapter
    customer = ledger.customer()
    ref, written = ledger.open_invoice(customer, "inv-contract-1", "CT-1001")
    assert written.ledger_id == ref.ledger_id

    invoice = adapter.get_invoice(ref)
    assert INVOICE_KEYS <= set(invoice), set(invoice)
    assert invoice["ledger_id"] == ref.ledger_id
    assert invoice["external_id"] == "inv-contract-1"
    assert invoice["number"] == "CT-1001"
    assert invoice["customer"]["ledger_id"] == customer.ledger_id
    assert invoice["issue_date"] == date(2026, 1, 15)
    assert invoice["due_date"] == date(2026, 2, 14)
    assert invoice["currency"] == ledger.profile.currency
    assert invoice["status"] == "open"
    assert len(invoice["lines"]) == 2
    totals = expected_totals(ledger)
    assert_money(invoice["totals"], totals)
    assert isinstance(invoice["balance"], Decimal) and invoice["balance"] == totals["total"]
    assert_money(written.object["totals"], totals)  # what the write answered is what a read gives

    # An update through the existing ref changes the quantity of the zero-rated line: one invoice, new total.
    changed = ledger.invoice_doc("inv-contract-1", "CT-1001", support_quantity="3")
    rewritten = adapter.upsert_invoice(changed, customer, ref, ledger.key("invoice"))
    assert rewritten.ledger_id == ref.ledger_id
    new_totals = expected_totals(ledger, zero_rated=D("3") * D("40.10"))
    after = adapter.get_invoice(ref)
    assert_money(after["totals"], new_totals)
    assert after["balance"] == new_totals["total"] and after["status"] == "open"
    assert ledger.stored_invoice_numbers() == ["CT-1001"]

    found = adapter.find_invoices(number="CT-1001")
    assert [item["ledger_id"] for item in found] == [ref.ledger_id]
    assert_money(found[0]["totals"], new_totals)
    assert adapter.find_invoice_ids(["CT-1001"]) == {"CT-1001": ref.ledger_id}
    assert adapter.find_invoice_ids(["CT-NO-SUCH"]) == {}


def test_draft_invoices_where_the_ledger_has_them(ledger):
    customer = ledger.customer()
    ref, written = ledger.open_invoice(customer, "inv-contract-draft", "CT-1002", status="draft")
    status = ledger.adapter.get_invoice(ref)["status"]
    if ledger.name == "quickbooks":
        # QBO has no draft invoices: written as open, with a warning saying so.
        assert status == "open"
        assert any("no draft" in warning for warning in written.warnings), written.warnings
    else:
        assert status == "draft"


# --- 3. payments ----------------------------------------------------------------------------------------

def test_payments_take_the_invoice_to_partially_paid_then_paid(ledger):
    adapter = ledger.adapter
    customer = ledger.customer()
    ref, _ = ledger.open_invoice(customer, "inv-contract-pay", "CT-2001")
    total = expected_totals(ledger)["total"]

    first = adapter.record_payment(ledger.payment_doc("pay-contract-1", "inv-contract-pay", "100.00"), ref,
                                   customer, None, ledger.key("payment"))
    assert first.ledger_id
    assert first.object["amount"] == D("100.00")
    invoice = adapter.get_invoice(ref)
    assert invoice["status"] == "partially_paid"
    assert invoice["balance"] == total - D("100.00")

    rest = str(total - D("100.00"))
    second = adapter.record_payment(ledger.payment_doc("pay-contract-2", "inv-contract-pay", rest), ref, customer,
                                    None, ledger.key("payment"))
    assert second.ledger_id and second.ledger_id != first.ledger_id
    invoice = adapter.get_invoice(ref)
    assert invoice["status"] == "paid"
    assert invoice["balance"] == D("0")


# --- 4. credit notes ------------------------------------------------------------------------------------

def test_credit_note_allocation_reduces_the_invoice_balance(ledger):
    adapter = ledger.adapter
    customer = ledger.customer()
    ref, _ = ledger.open_invoice(customer, "inv-contract-credit", "CT-3001")
    total = expected_totals(ledger)["total"]
    allocation = {"invoice_external_id": "inv-contract-credit", "amount": "30.00", "date": "2026-01-18"}
    credit_note = ledger.credit_note_doc("cn-contract-1", "CN-3001", [allocation])

    written = adapter.upsert_credit_note(credit_note, customer, [(credit_note["allocations"][0], ref)], None,
                                         ledger.key("credit"))
    assert written.ledger_id
    invoice = adapter.get_invoice(ref)
    assert invoice["balance"] == total - D("30.00")
    assert invoice["status"] == "partially_paid"


# --- 5. void --------------------------------------------------------------------------------------------

def test_void_of_an_open_invoice_reads_back_void(ledger):
    adapter = ledger.adapter
    customer = ledger.customer()
    ref, _ = ledger.open_invoice(customer, "inv-contract-void", "CT-4001")

    voided = adapter.void_invoice(ref, ledger.key("void"))
    assert voided.ledger_id == ref.ledger_id
    assert voided.object["status"] == "void"
    assert adapter.get_invoice(ref)["status"] == "void"
    if ledger.name == "freshbooks":
        # FreshBooks has no void: its documented way is a soft delete (vis_state 1), said in a warning.
        assert any("no void" in warning for warning in voided.warnings), voided.warnings
        assert ledger.stored_invoice_numbers() == []  # out of the books (in FreshBooks' trash)
    else:
        assert ledger.stored_invoice_numbers() == ["CT-4001"]  # kept, voided


# --- 6. reference data ------------------------------------------------------------------------------------

def _assert_shape(records: list[dict], keys: set[str]) -> None:
    """Non-empty, and every record has exactly the contract's keys (vendor leftovers only under `extra`)."""
    assert records, "empty reference list"
    for record in records:
        assert set(record) - {"extra"} == keys, f"keys {sorted(record)} != {sorted(keys)} (+ extra)"
        assert isinstance(record.get("extra", {}), dict)
        assert isinstance(record["id"], str) and record["id"], record
        assert isinstance(record["active"], bool), record


def test_list_accounts_is_normalized(ledger):
    accounts = ledger.adapter.list_accounts()
    _assert_shape(accounts, ACCOUNT_KEYS)
    ids = {account["id"] for account in accounts}
    assert set(ledger.profile.mapped_account_ids) <= ids, ids
    assert any(account["bank"] for account in accounts), "no bank account to take payments"


def test_list_tax_rates_is_normalized_with_decimal_rates(ledger):
    rates = ledger.adapter.list_tax_rates()
    _assert_shape(rates, TAX_RATE_KEYS)
    by_id = {rate["id"]: rate for rate in rates}
    for rate in rates:
        assert isinstance(rate["rate"], Decimal), rate
    mapped = set(ledger.profile.mapped_tax_ids)
    if ledger.name == "quickbooks":
        mapped.add(ledger.mapping["quickbooks"]["txn_tax_code"])
    assert mapped <= set(by_id), sorted(by_id)
    standard = ledger.mapping["quickbooks"]["txn_tax_code"] if ledger.name == "quickbooks" \
        else ledger.mapping["tax_categories"]["standard"]
    assert by_id[standard]["rate"] == ledger.profile.standard_rate


def test_list_items_is_normalized(ledger):
    items = ledger.adapter.list_items()
    _assert_shape(items, ITEM_KEYS)
    for item in items:
        assert item["unit_price"] is None or isinstance(item["unit_price"], Decimal), item


def test_find_customers_by_email(ledger):
    created = ledger.customer()
    found = ledger.adapter.find_customers(email="ap@contract.example")
    assert [customer["ledger_id"] for customer in found] == [created.ledger_id]
    assert CUSTOMER_KEYS <= set(found[0])
    assert found[0]["name"] == "Contract Customer Ltd" and found[0]["external_id"] == "cus-contract-1"
    assert ledger.adapter.find_customers(email="nobody@contract.example") == []


# --- 7. errors ----------------------------------------------------------------------------------------------

def test_a_taken_invoice_number_is_rejected_on_number(ledger):
    customer = ledger.customer()
    ledger.open_invoice(customer, "inv-contract-a", "CT-5001")
    with pytest.raises(LedgerRejected) as refused:
        ledger.open_invoice(customer, "inv-contract-b", "CT-5001")
    assert not isinstance(refused.value, LedgerNotFound)
    # The same on all three: QBO fault 6140, Xero "Invoice # must be unique", FreshBooks 422 errno 2003 on
    # invoice_number (FreshBooks refuses reuse even of a deleted invoice's number).
    assert "number" in error_fields(refused.value), refused.value.errors
    assert ledger.stored_invoice_numbers() == ["CT-5001"]


def test_an_unknown_customer_is_rejected(ledger):
    document = ledger.invoice_doc("inv-contract-nobody", "CT-5002")
    with pytest.raises(LedgerRejected) as refused:  # LedgerNotFound is a LedgerRejected
        ledger.adapter.upsert_invoice(document, LedgerRef(UNKNOWN_CUSTOMER[ledger.name]), None, ledger.key("inv"))
    assert "customer" in error_fields(refused.value), refused.value.errors
    assert ledger.stored_invoice_numbers() == []


def test_a_server_error_is_retryable(ledger):
    ledger.configure(faults={"fail_next": 1})
    with pytest.raises(RetryableLedgerError) as failed:
        ledger.adapter.find_invoices(number="CT-NONE")
    assert not isinstance(failed.value, (LedgerRateLimited, UncertainOutcome))
    assert ledger.adapter.find_invoices(number="CT-NONE") == []  # one-shot: the next call goes through


def test_a_throttle_is_rate_limited_with_retry_after(ledger):
    ledger.configure(faults={"throttle_next": 1})
    with pytest.raises(RetryableLedgerError) as throttled:
        ledger.adapter.find_invoices(number="CT-NONE")
    assert isinstance(throttled.value, LedgerRateLimited), \
        f"a 429 must be LedgerRateLimited (waits without using an attempt), got {type(throttled.value).__name__}"
    assert throttled.value.retry_after and throttled.value.retry_after > 0
    assert ledger.adapter.find_invoices(number="CT-NONE") == []


@pytest.mark.sandbox_limits
def test_the_ledgers_own_request_limit_is_rate_limited(ledger):
    ledger.configure(limits={"enabled": True, "per_minute": 3})
    with pytest.raises(RetryableLedgerError) as throttled:
        for _ in range(10):
            ledger.adapter.find_invoices(number="CT-NONE")
    assert isinstance(throttled.value, LedgerRateLimited), \
        f"a 429 must be LedgerRateLimited (waits without using an attempt), got {type(throttled.value).__name__}"
    assert throttled.value.retry_after and throttled.value.retry_after > 0


# --- 8. token refresh and rotation ----------------------------------------------------------------------

def test_an_expired_access_token_is_refreshed_once_and_the_refresh_token_rotates(ledger):
    tokens, oauth = ledger.tokens, ledger.oauth
    old = tokens.token
    tokens.expire()
    assert ledger.adapter.find_invoices(number="CT-NONE") == []
    assert tokens.refreshes == 1
    assert ledger.control("stats", "GET")["token_calls"].get("refresh_token") == 1  # one at the ledger too
    new = tokens.token
    assert new.access_token != old.access_token
    assert new.refresh_token and new.refresh_token != old.refresh_token  # rotated on all three
    assert new.expires_at > old.expires_at
    assert ledger.adapter.find_invoices(number="CT-NONE") == [] and tokens.refreshes == 1

    grace = ledger.profile.refresh_grace_seconds
    if ledger.name == "freshbooks":
        # FreshBooks refresh tokens are single use: the old one is dead at once.
        with pytest.raises(ReauthRequired):
            oauth.refresh(old)
        return
    # Xero (30 minutes) and QBO (about 24 hours) keep the superseded refresh token working for a grace
    # period, in case the answer that carried the new one was lost; after it, invalid_grant.
    assert oauth.refresh(old).access_token
    ledger.configure(clock_offset=grace + 60)
    with pytest.raises(ReauthRequired):
        oauth.refresh(old)
    assert oauth.refresh(tokens.token).refresh_token  # the newest one still works


def test_an_access_token_the_ledger_refuses_is_refreshed_once_and_the_request_resent(ledger):
    ledger.configure(clock_offset=ledger.profile.access_token_seconds + 60)  # expired at the ledger only
    assert ledger.adapter.find_invoices(number="CT-NONE") == []
    assert ledger.tokens.refreshes == 1
    assert ledger.control("stats", "GET")["token_calls"].get("refresh_token") == 1


# --- 9. reauth ------------------------------------------------------------------------------------------

def test_invalid_grant_on_refresh_requires_reauth(ledger):
    ledger.configure(faults={"invalid_grant": True})
    ledger.tokens.expire()
    with pytest.raises(ReauthRequired):
        ledger.adapter.find_invoices(number="CT-NONE")
    with pytest.raises(ReauthRequired):
        ledger.oauth.refresh(ledger.tokens.token)


# --- 10. batches ------------------------------------------------------------------------------------------

def test_batch_writes_answer_each_member_in_order(ledger):
    adapter = ledger.adapter
    assert adapter.BATCH_MAX == BATCH_MAX[ledger.name]
    customer = ledger.customer()
    if adapter.BATCH_MAX == 0:
        # FreshBooks has no batch writes: the engine sends its invoices one by one.
        assert ledger.name == "freshbooks"
        with pytest.raises(NotImplementedError):
            adapter.upsert_invoices([], ledger.key("batch"))
        return
    ledger.open_invoice(customer, "inv-contract-taken", "CT-6000")
    numbers = ["CT-6001", "CT-6000", "CT-6003"]
    items = [BatchItem(ledger.key("member"), ledger.invoice_doc(f"inv-contract-b{index}", number), customer)
             for index, number in enumerate(numbers)]

    results = adapter.upsert_invoices(items, ledger.key("batch"))
    assert [result.key for result in results] == [item.key for item in items]
    first, taken, third = results
    assert taken.written is None and isinstance(taken.error, LedgerRejected)
    assert "number" in error_fields(taken.error), taken.error.errors
    totals = expected_totals(ledger)
    for result, number in ((first, "CT-6001"), (third, "CT-6003")):
        assert result.error is None and result.written.ledger_id
        invoice = adapter.get_invoice(LedgerRef(result.written.ledger_id))
        assert invoice["number"] == number and invoice["status"] == "open"
        assert_money(invoice["totals"], totals)
    assert sorted(ledger.stored_invoice_numbers()) == ["CT-6000", "CT-6001", "CT-6003"]


# --- Xero: the spec check on the adapter's session is live -------------------------------------------------

@pytest.mark.parametrize("ledger", ["xero"], indirect=True)
def test_an_invalid_xero_request_fails_before_it_is_sent(ledger):
    assert ledger.spec_checked  # tenant_info went through the check
    with pytest.raises(AssertionError, match="not a valid Xero request"):
        ledger.adapter.client.put("Invoices", {"Invoices": [{"Type": "NOT-A-TYPE"}]}, "ct-invalid-1")
    assert ledger.control("stats", "GET")["writes_applied"] == 0
    ledger.spec_problems.clear()  # seen and expected: the fixture fails any test that leaves one behind
