"""The seeded identity and businesses: one Canadian business with GST 5 % and PST 7 % (DESIGN.md), plus an
optional US business without taxes (`extra_businesses`) so a bridge's choice of business can be tested.

Shapes follow the FB-SDK fixture auth_me_response.json (facts §3.1 "Ids").
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from .store import Business

ACCOUNT_ID = "SbxCA1"  # accounting endpoints use account_id (e.g. "ABC123" in the SDK fixture)
BUSINESS_ID = 7001001
BUSINESS_UUID = "6f1e5c2a-8d4b-4e0f-9a3c-1b2d3e4f5a60"
EXTRA_ACCOUNT_ID = "SbxUS2"
EXTRA_BUSINESS_ID = 7001002
EXTRA_BUSINESS_UUID = "6f1e5c2a-8d4b-4e0f-9a3c-1b2d3e4f5a61"
IDENTITY_ID = 9100001
IDENTITY_UUID = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60"
IDENTITY = {"first_name": "Sandy", "last_name": "Owner", "email": "owner@sandbox.invalid"}

TAXES = [("GST", "5", "123456789RT0001"), ("PST", "7", "PST-1234-5678")]  # name, percent, registration no.
ITEMS = [("Consulting", "Hourly consulting", Decimal("100.00")),
         ("Support plan", "Monthly support", Decimal("25.00"))]
# (name, number, type, sub_type, system_account_name) [V] shapes from FB-SDK list_ledger_account_response.json
LEDGER_ACCOUNTS = [("Cash", "1000", "asset", "Cash & Bank", "Cash"),
                   ("Accounts Receivable", "1200", "asset", "Current Asset", "Accounts Receivable"),
                   ("Sales Taxes Payable", "2200", "liability", "Current Liability", "Sales Taxes Payable"),
                   ("Sales", "4000", "income", "Revenue", "Sales")]


def _business(now: float, business_id: int, account_id: str, business_uuid: str, name: str, currency: str,
              country: str, province: str, city: str, street: str, postal_code: str,
              taxes: bool) -> Business:
    business = Business(business_id, account_id, business_uuid, name, currency, country, province, city,
                        street, postal_code)
    tax_ids = []
    if taxes:
        for tax_name, amount, number in TAXES:
            record = business.add("tax", {"name": tax_name, "amount": Decimal(amount), "number": number,
                                          "compound": False}, now)
            tax_ids.append(record.id)
    for item_name, description, cost in ITEMS:
        business.add("item", {"name": item_name, "description": description, "qty": Decimal("0"),
                              "unit_cost": cost, "inventory": None, "sku": None,
                              "tax1": tax_ids[0] if tax_ids else None,
                              "tax2": tax_ids[1] if len(tax_ids) > 1 else None}, now)
    for account_name, number, kind, sub_type, system_name in LEDGER_ACCOUNTS:
        if not taxes and kind == "liability":
            continue
        business.ledger_accounts.append({
            "uuid": str(uuid.uuid5(uuid.UUID(business_uuid), account_name)), "name": account_name,
            "number": number, "description": "", "type": kind, "sub_type": sub_type,
            "system_account_name": system_name, "parent_account": None, "sub_accounts": [],
            "auto_created": True, "state": "active", "created": now})
    return business


def seed_businesses(now: float, extra_businesses: bool = False) -> dict[str, Business]:
    """Fresh copies of the seeded businesses, keyed by account_id."""
    businesses = {ACCOUNT_ID: _business(now, BUSINESS_ID, ACCOUNT_ID, BUSINESS_UUID, "Sandbox Studio Canada",
                                        "CAD", "Canada", "British Columbia", "Vancouver", "1 Sandbox Way",
                                        "V5K 0A1", taxes=True)}
    if extra_businesses:
        businesses[EXTRA_ACCOUNT_ID] = _business(
            now, EXTRA_BUSINESS_ID, EXTRA_ACCOUNT_ID, EXTRA_BUSINESS_UUID, "Sandbox Studio US", "USD",
            "United States", "New York", "New York", "2 Sandbox Street", "10001", taxes=False)
    return businesses


def aliases() -> dict[str, str]:
    """Short tenant names the control routes accept."""
    return {"CA": ACCOUNT_ID, "DEFAULT": ACCOUNT_ID, "US": EXTRA_ACCOUNT_ID,
            str(BUSINESS_ID): ACCOUNT_ID, str(EXTRA_BUSINESS_ID): EXTRA_ACCOUNT_ID,
            BUSINESS_UUID.upper(): ACCOUNT_ID, EXTRA_BUSINESS_UUID.upper(): EXTRA_ACCOUNT_ID}
