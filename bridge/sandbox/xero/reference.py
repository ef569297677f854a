"""Reference data: Accounts, TaxRates, Organisation (read-only here) and Items (create, update, read)."""

from __future__ import annotations

import copy
from decimal import Decimal

from .errors import ItemInvalid
from .store import Context, Record, Tenant
from .wire import CENT, UNIT_4DP, ms_datetime, quantize, to_decimal

ITEM_CODE_MAX = 30  # spec Item.Code maxLength
ITEM_NAME_MAX = 50  # spec Item.Name maxLength
ITEM_DESCRIPTION_MAX = 4000  # spec Item.Description maxLength
PAYABLE_ACCOUNT_TYPES = ("BANK",)  # payments go to bank accounts or ones with EnablePaymentsToAccount
ITEM_FIELDS = ("Code", "Name", "Description", "PurchaseDescription", "IsSold", "IsPurchased",
               "SalesDetails", "PurchaseDetails", "InventoryAssetAccountCode", "IsTrackedAsInventory")


# Lookups

def account_by_code(tenant: Tenant, code) -> Record | None:
    """An active account by its Code."""
    if not isinstance(code, str):
        return None
    return next((r for r in tenant.all("Account") if r.body.get("Code") == code and
                 r.body.get("Status") == "ACTIVE"), None)


def account_by_ref(tenant: Tenant, ref: dict) -> Record | None:
    """An active account from `{"AccountID"}` or `{"Code"}`."""
    if ref.get("AccountID"):
        record = tenant.get("Account", ref["AccountID"])
        return record if record is not None and record.body.get("Status") == "ACTIVE" else None
    return account_by_code(tenant, ref.get("Code"))


def accepts_payments(account: Record) -> bool:
    """A bank account, or one with "Enable payments to this account" ticked."""
    return account.body["Type"] in PAYABLE_ACCOUNT_TYPES or bool(account.body.get("EnablePaymentsToAccount"))


def tax_rate(tenant: Tenant, tax_type) -> Record | None:
    """An active tax rate by its TaxType code."""
    record = tenant.get("TaxRate", tax_type) if isinstance(tax_type, str) else None
    return record if record is not None and record.body.get("Status") == "ACTIVE" else None


def item_by_code(tenant: Tenant, code) -> Record | None:
    """An item by its Code (Xero compares item codes without regard to case)."""
    if not isinstance(code, str):
        return None
    wanted = code.strip().lower()
    return next((r for r in tenant.all("Item") if r.body["Code"].lower() == wanted), None)


def find_item(tenant: Tenant, key: str) -> Record | None:
    """An item by ItemID or Code (GET /Items/{ItemID} takes either)."""
    return tenant.get("Item", key) or item_by_code(tenant, key)


# Rendering

def render_account(tenant: Tenant, record: Record) -> dict:
    """An Account as GET /Accounts returns it."""
    return {"AccountID": record.id, **copy.deepcopy(record.body), "UpdatedDateUTC": ms_datetime(record.updated)}


def render_tax_rate(tenant: Tenant, record: Record) -> dict:
    """A TaxRate as GET /TaxRates returns it."""
    return copy.deepcopy(record.body)


def render_organisation(tenant: Tenant) -> dict:
    """The Organisation object."""
    return {**copy.deepcopy(tenant.organisation), "CreatedDateUTC": ms_datetime(tenant.created)}


def render_item(tenant: Tenant, record: Record, unitdp: int = 2) -> dict:
    """An Item; UnitPrice at 2 dp unless the request opted in to 4 (unitdp=4)."""
    out = {"ItemID": record.id, **copy.deepcopy(record.body)}
    for key in ("SalesDetails", "PurchaseDetails"):
        if isinstance(out.get(key), dict) and out[key].get("UnitPrice") is not None:
            out[key]["UnitPrice"] = quantize(out[key]["UnitPrice"], UNIT_4DP if unitdp == 4 else CENT)
    out["UpdatedDateUTC"] = ms_datetime(record.updated)
    return out


# Items: PUT creates, POST creates or updates (matched by ItemID, then Code)

def _details(ctx: Context, value, key: str, errors: list[str], sales: bool) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(f"{key} must be an object")
        return None
    out = {}
    if value.get("UnitPrice") is not None:
        try:
            out["UnitPrice"] = quantize(to_decimal(value["UnitPrice"]), UNIT_4DP if ctx.unitdp == 4 else CENT)
        except ValueError:
            errors.append(f"{key}.UnitPrice must be a number")
    if value.get("AccountCode") not in (None, ""):
        account = account_by_code(ctx.tenant, value["AccountCode"])
        if account is None or account.body["Type"] == "BANK":
            errors.append(f"Account code '{value['AccountCode']}' is not a valid code for this document.")
        out["AccountCode"] = value["AccountCode"]
    if value.get("COGSAccountCode") not in (None, ""):
        out["COGSAccountCode"] = value["COGSAccountCode"]
    if value.get("TaxType") not in (None, ""):
        rate = tax_rate(ctx.tenant, value["TaxType"])
        usable = rate is not None and rate.body["CanApplyToRevenue" if sales else "CanApplyToExpenses"]
        if not usable:
            errors.append(f"The TaxType code '{value['TaxType']}' does not exist or cannot be used for this "
                          "type of transaction.")
        out["TaxType"] = value["TaxType"]
    return out


def upsert_item(ctx: Context, raw, create_only: bool, path_key: str | None = None) -> Record:
    """Create or update one Item; ItemInvalid lists every problem found."""
    if not isinstance(raw, dict):
        raise ItemInvalid("An item must be a JSON object")
    tenant = ctx.tenant
    existing = None
    if path_key is not None:
        existing = find_item(tenant, path_key)
    elif not create_only:
        if raw.get("ItemID"):
            existing = tenant.get("Item", raw["ItemID"])
            if existing is None:
                raise ItemInvalid(f"Item with ItemID '{raw['ItemID']}' could not be found")
        elif raw.get("Code"):
            existing = item_by_code(tenant, raw["Code"])
    errors: list[str] = []
    body = copy.deepcopy(existing.body) if existing is not None else {"IsSold": True, "IsPurchased": True,
                                                                       "IsTrackedAsInventory": False}
    for key in ("Code", "Name", "Description", "PurchaseDescription"):
        if key in raw and raw[key] is not None:
            if not isinstance(raw[key], str):
                errors.append(f"{key} must be text")
            else:
                body[key] = raw[key].strip() if key == "Code" else raw[key]
    for key in ("IsSold", "IsPurchased"):
        if isinstance(raw.get(key), bool):
            body[key] = raw[key]
    code = body.get("Code")
    if not code:
        errors.append("Item code must be specified")
    elif len(code) > ITEM_CODE_MAX:
        errors.append(f"Item code must not be more than {ITEM_CODE_MAX} characters long")
    else:
        other = item_by_code(tenant, code)
        if other is not None and other is not existing:
            errors.append(f"Item code '{code}' already exists")
    if body.get("Name") is not None and len(body["Name"]) > ITEM_NAME_MAX:
        errors.append(f"Item name must not be more than {ITEM_NAME_MAX} characters long")
    if body.get("Description") is not None and len(body["Description"]) > ITEM_DESCRIPTION_MAX:
        errors.append(f"Item description must not be more than {ITEM_DESCRIPTION_MAX} characters long")
    for key, sales in (("SalesDetails", True), ("PurchaseDetails", False)):
        if key in raw:
            details = _details(ctx, raw[key], key, errors, sales)
            if details is not None:
                body[key] = details
    if errors:
        raise ItemInvalid(errors)
    body.setdefault("Name", code)
    if existing is None:
        return ctx.add("Item", body)
    ctx.touch(existing)
    existing.body = body
    return existing


def default_unit_price(item: Record, sales: bool) -> Decimal | None:
    """The item's sales (or purchase) unit price."""
    details = item.body.get("SalesDetails" if sales else "PurchaseDetails") or {}
    return details.get("UnitPrice")
