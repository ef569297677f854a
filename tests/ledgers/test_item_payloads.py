"""Items the invoicing platform owns: which product codes need one, and each ledger's create body (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.errors import LedgerRejected
from bridge.ledgers.base import Context
from bridge.ledgers.freshbooks.mapping import item_payload as freshbooks_item
from bridge.ledgers.quickbooks.adapter import Adapter as QuickBooks
from bridge.ledgers.quickbooks.mapping import item_payload as quickbooks_item
from bridge.ledgers.xero.mapping import item_payload as xero_item
from bridge.sync.items import unplaced, with_items

SPEC = {"code": "WIDGET-9", "description": "Blue widget", "unit_price": Decimal("12.50"), "currency": "CAD",
        "account": "200", "tax_code": "OUTPUT2", "field": "lines[1].product_code"}
DOCUMENT = {"currency": "GBP", "lines": [
    {"description": "Mapped", "quantity": Decimal("1"), "unit_price": Decimal("5"), "product_code": "CONSULT"},
    {"description": "New", "quantity": Decimal("2"), "unit_price": Decimal("7.25"), "product_code": "WIDGET-9",
     "tax_category": "standard"},
    {"description": "Again", "quantity": Decimal("1"), "unit_price": Decimal("1"), "product_code": "WIDGET-9"},
    {"description": "No code", "quantity": Decimal("1"), "unit_price": Decimal("3")}]}
MAPPING = {"products": {"CONSULT": {"item": "7"}, "WIDGET-9": {"account": "260"}},
           "tax_categories": {"standard": "OUTPUT2"}, "defaults": {"income_account": "200"}}


def adapter(mapping: dict) -> QuickBooks:
    """A QuickBooks adapter holding a mapping (no HTTP is made)."""
    return QuickBooks(Context(tenant_id="1", tokens=None, settings={}, mapping=mapping))


def test_only_codes_without_a_mapped_item_need_one_and_only_when_the_invoicing_platform_owns_items():
    assert unplaced(adapter(MAPPING), DOCUMENT) == {}  # "ledger" is the default
    owned = {**MAPPING, "source_of_truth": {"items": "invoicing"}}
    specs = unplaced(adapter(owned), DOCUMENT)
    assert list(specs) == ["WIDGET-9"]  # once, described by its first line
    assert specs["WIDGET-9"] == {"code": "WIDGET-9", "description": "New", "unit_price": Decimal("7.25"),
                                 "currency": "GBP", "account": "260", "tax_code": "OUTPUT2",
                                 "field": "lines[1].product_code"}


def test_placed_items_go_into_a_copy_of_the_mapping():
    placed = with_items(MAPPING, {"WIDGET-9": "42"})
    assert placed["products"]["WIDGET-9"] == {"account": "260", "item": "42"}
    assert "item" not in MAPPING["products"]["WIDGET-9"]


def test_quickbooks_creates_a_service_item_with_its_income_account():
    assert quickbooks_item(SPEC) == {"Name": "WIDGET-9", "Type": "Service", "IncomeAccountRef": {"value": "200"},
                                     "Description": "Blue widget"}
    with pytest.raises(LedgerRejected) as refused:
        quickbooks_item({**SPEC, "account": None})
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("lines[1].product_code", "mapping_missing")]


def test_xero_creates_an_item_whose_code_is_the_product_code_and_refuses_long_codes():
    assert xero_item(SPEC) == {"Code": "WIDGET-9", "Name": "WIDGET-9", "Description": "Blue widget",
                               "SalesDetails": {"AccountCode": "200", "TaxType": "OUTPUT2"}}
    assert "SalesDetails" not in xero_item({**SPEC, "account": None, "tax_code": None})
    with pytest.raises(LedgerRejected) as refused:
        xero_item({**SPEC, "code": "C" * 31})
    assert refused.value.errors[0]["field"] == "lines[1].product_code"


def test_freshbooks_creates_an_item_named_by_the_code_priced_only_in_the_business_currency():
    assert freshbooks_item(SPEC, "CAD") == {"name": "WIDGET-9", "description": "Blue widget",
                                            "unit_cost": {"amount": "12.50", "code": "CAD"}}
    assert "unit_cost" not in freshbooks_item(SPEC, None)
    assert "unit_cost" not in freshbooks_item({**SPEC, "unit_price": Decimal("1.2345")}, "CAD")
