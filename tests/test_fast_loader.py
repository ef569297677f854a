"""The ingest route's fast loader gives exactly what marshmallow gives, or steps aside."""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from bridge.schemas import CreditNoteSchema, FullCustomerSchema, InvoiceSchema, PaymentSchema
from bridge.schemas.fast import Fallback, compile_schema
from tests.conftest import sample_invoice

SCHEMAS = [InvoiceSchema(), PaymentSchema(), CreditNoteSchema(), FullCustomerSchema()]

RICH_INVOICE = sample_invoice(
    number="INV-9", exchange_rate="1.25", amounts_include_tax=True, memo="Thanks", status="draft",
    customer={"external_id": "c-9", "name": "Globex", "email": "ap@globex.example", "phone": "+1 555",
              "address": {"line1": "1 Main", "line2": None, "city": "Springfield", "region": "IL",
                          "postal_code": "62701", "country": "US"}, "tax_number": "US-1", "currency": "USD"},
    lines=[{"description": "a", "quantity": "1.5", "unit_price": "-2.0001", "discount_percent": "10",
            "product_code": "P", "tax_category": "standard", "account_code": "200"},
           {"quantity": 3, "unit_price": Decimal("19.99")}],
    payments=[{"external_id": "p", "amount": "5.00", "date": "2026-01-20", "method": "card", "reference": "r",
               "deposit_account": "090", "currency": "USD", "exchange_rate": "1"}],
    totals={"subtotal": "1.00", "tax": None, "total": "2.00"})

MUTATIONS = [
    lambda d: d.update(currency="XXX"), lambda d: d.update(currency=None), lambda d: d.pop("customer"),
    lambda d: d.update(extra=1), lambda d: d["lines"][0].update(quantity="0"),
    lambda d: d["lines"][0].update(quantity="1e2"), lambda d: d["lines"][0].update(unit_price="NaN"),
    lambda d: d["lines"][0].update(unit_price=1.5), lambda d: d.update(lines=[]),
    lambda d: d.update(issue_date="2026-02-30"), lambda d: d.update(issue_date="20260101"),
    lambda d: d.update(due_date="2025-01-01"), lambda d: d.update(amounts_include_tax="true"),
    lambda d: d.update(status="paid"), lambda d: d["customer"].update(email="not-an-email"),
    lambda d: d["customer"].update(name=""), lambda d: d.update(customer={"external_id": "x"}),
    lambda d: d.update(customer={"external_id": "x", "email": "a@b.example"}),
    lambda d: d.update(memo="m" * 4001), lambda d: d.update(external_id=""),
    lambda d: d.update(payments=[{"external_id": "p", "amount": "1", "date": "2026-01-01",
                                  "invoice_external_id": "other"}]),
    lambda d: d.update(lines=[{"quantity": "1", "unit_price": "-5"}]),
    lambda d: d["lines"][0].update(discount_percent="100.00001"), lambda d: d.update(number=7),
    lambda d: d.update(totals={"total": "1.001"}), lambda d: d.update(lines="nope"),
    lambda d: d.update(exchange_rate="0"), lambda d: d["customer"].update(address={"country": "ZZ"}),
]


def both(schema, data):
    """(marshmallow's result or its error, the fast loader's result or Fallback)."""
    try:
        expected = schema.load(copy.deepcopy(data))
    except ValidationError as exc:
        expected = exc
    try:
        fast = compile_schema(schema)(copy.deepcopy(data))
    except Fallback:
        fast = Fallback
    return expected, fast


@pytest.mark.parametrize("body", [sample_invoice(), RICH_INVOICE], ids=["plain", "rich"])
def test_valid_invoices_take_the_fast_path_with_the_same_result(body):
    expected, fast = both(InvoiceSchema(), json.loads(json.dumps(body, default=str), parse_float=Decimal))
    assert fast is not Fallback
    assert fast == expected


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_invalid_or_unusual_input_falls_back_to_marshmallow(mutate):
    body = json.loads(json.dumps(RICH_INVOICE, default=str), parse_float=Decimal)
    mutate(body)
    expected, fast = both(InvoiceSchema(), body)
    assert fast is Fallback or fast == expected
    if isinstance(expected, ValidationError):
        assert fast is Fallback


def test_random_mixtures_never_disagree():
    rng = random.Random(20261121)
    base = json.loads(json.dumps(RICH_INVOICE, default=str), parse_float=Decimal)
    for _ in range(400):
        body = copy.deepcopy(base)
        for mutate in rng.sample(MUTATIONS, rng.randint(0, 3)):
            try:
                mutate(body)
            except (KeyError, AttributeError, TypeError, IndexError):
                pass
        for schema in SCHEMAS:
            expected, fast = both(schema, body if schema.__class__ is InvoiceSchema else body.get("customer", {}))
            if fast is not Fallback:
                assert not isinstance(expected, ValidationError) and fast == expected


@pytest.mark.parametrize("schema, body", [
    (PaymentSchema(), {"external_id": "p", "invoice_external_id": "i", "amount": "10.00", "date": "2026-01-02",
                       "method": "card", "currency": "EUR"}),
    (CreditNoteSchema(), {"external_id": "cn", "customer": {"external_id": "c"}, "issue_date": "2026-01-02",
                          "currency": "GBP", "lines": [{"quantity": "1", "unit_price": "5"}],
                          "allocations": [{"invoice_external_id": "i", "amount": "5.00", "date": None}]}),
    (FullCustomerSchema(), {"external_id": "c", "name": "Acme", "address": {"country": "GB"}}),
])
def test_other_objects_take_the_fast_path_with_the_same_result(schema, body):
    expected, fast = both(schema, body)
    assert fast is not Fallback and fast == expected
