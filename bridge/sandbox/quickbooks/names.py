"""Name-list entities: Customer, Item, Account (writable) and TaxCode, TaxRate (read-only)."""

from __future__ import annotations

from decimal import Decimal

from . import errors
from .common import (EntityKind, check_currency, check_object, check_string, named_ref, ref_value,
                     to_decimal)

# Customer required fields and uniqueness: Intuit customer reference; facts §1.7.
CUSTOMER_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
DISPLAY_NAME_MAX = 500
ACCOUNT_CLASSIFICATIONS = {
    "Bank": "Asset", "Other Current Asset": "Asset", "Fixed Asset": "Asset", "Other Asset": "Asset",
    "Accounts Receivable": "Asset", "Equity": "Equity", "Expense": "Expense", "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense", "Accounts Payable": "Liability", "Credit Card": "Liability",
    "Long Term Liability": "Liability", "Other Current Liability": "Liability", "Income": "Revenue",
    "Other Income": "Revenue",
}
ITEM_TYPES = ("Service", "NonInventory", "Inventory", "Category", "Group")
DEPOSIT_ACCOUNT_TYPES = ("Bank", "Other Current Asset")


def _unique(realm, entity: str, key: str, value: str, record, holder: str) -> None:
    folded = value.casefold()
    for other in realm.iter_live(entity):
        if other is not record and str(other.body.get(key, "")).casefold() == folded:
            raise errors.duplicate_name(value, holder)


class Customer(EntityKind):
    """A customer; DisplayName unique across the company (6240)."""

    name, path, writable, name_list = "Customer", "customer", True, True
    fields = frozenset({
        "DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
        "PrintOnCheckName", "PrimaryEmailAddr", "PrimaryPhone", "Mobile", "Fax", "AlternatePhone", "WebAddr",
        "BillAddr", "ShipAddr", "CurrencyRef", "Notes", "Active", "Taxable", "ResaleNum",
        "PreferredDeliveryMethod", "SalesTermRef", "PaymentMethodRef", "DefaultTaxCodeRef",
        "PrimaryTaxIdentifier", "BusinessNumber", "GSTIN", "GSTRegistrationType", "Job", "ParentRef",
        "BillWithParent", "OpenBalanceDate", "TaxExemptionReasonId", "CustomerTypeRef"})
    read_only = frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName", "V4IDPseudonym", "Level"})

    def prepare(self, realm, body, record):
        """DisplayName (or name parts) required and unique; currency defaults to the home one."""
        for key in ("PrimaryEmailAddr", "PrimaryPhone", "Mobile", "Fax", "WebAddr", "BillAddr", "ShipAddr"):
            check_object(body, key)
        for key in CUSTOMER_NAME_PARTS + ("CompanyName", "Notes"):
            check_string(body, key, 4000 if key == "Notes" else 100)
        display = body.get("DisplayName")
        if display is None or (isinstance(display, str) and not display.strip()):
            parts = [body.get(p) for p in CUSTOMER_NAME_PARTS if isinstance(body.get(p), str) and body.get(p)]
            if not parts:
                raise errors.required("DisplayName")
            display = " ".join(parts)
        if not isinstance(display, str):
            raise errors.invalid_property("DisplayName")
        display = display.strip()
        if len(display) > DISPLAY_NAME_MAX:
            raise errors.too_long("DisplayName", DISPLAY_NAME_MAX, len(display))
        _unique(realm, "Customer", "DisplayName", display, record, "customer, vendor or employee")
        body["DisplayName"] = display
        email = (body.get("PrimaryEmailAddr") or {}).get("Address")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise errors.validation("2210", "Invalid Email Address format",
                                    "Email Address does not conform to the syntax rules of RFC 822.",
                                    "PrimaryEmailAddr.Address")
        body["Active"] = body.get("Active", True) is not False
        check_currency(realm, body)
        return body

    def extra(self, realm, record):
        """Balance: open invoices less remaining credits and unapplied payments."""
        balance = realm.cached("customer_balances", lambda: customer_balances(realm)).get(
            record.id, Decimal("0.00"))
        return {"FullyQualifiedName": record.body["DisplayName"], "Balance": balance,
                "BalanceWithJobs": balance}


def customer_balances(realm) -> dict[str, Decimal]:
    """Open balance per customer id, for the whole realm at once."""
    balances: dict[str, Decimal] = {}

    def add(customer_id: str, amount: Decimal) -> None:
        balances[customer_id] = balances.get(customer_id, Decimal("0.00")) + amount

    for entity, sign in (("Invoice", 1), ("CreditMemo", -1)):
        for txn in realm.live(entity):
            if txn.status != "Voided":
                open_amount = txn.computed["total"] - realm.applied_to(entity, txn.id)
                add(txn.body["CustomerRef"]["value"], sign * open_amount)
    for payment in realm.live("Payment"):
        if payment.status != "Voided":
            add(payment.body["CustomerRef"]["value"], -payment.computed["unapplied"])
    return balances


class Item(EntityKind):
    """A product or service; Name unique, IncomeAccountRef required for sellable types."""

    name, path, writable, name_list = "Item", "item", True, True
    fields = frozenset({
        "Name", "Description", "Active", "Type", "IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef",
        "UnitPrice", "PurchaseCost", "PurchaseDesc", "Taxable", "SalesTaxIncluded", "Sku", "SalesTaxCodeRef",
        "PurchaseTaxCodeRef", "TrackQtyOnHand", "QtyOnHand", "InvStartDate", "ParentRef", "SubItem",
        "ClassRef"})
    read_only = frozenset({"FullyQualifiedName", "Level"})

    def prepare(self, realm, body, record):
        """Name required and unique among items; account references must exist."""
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise errors.required("Name")
        body["Name"] = name.strip()
        check_string(body, "Name", 100)
        _unique(realm, "Item", "Name", body["Name"], record, "product or service")
        body.setdefault("Type", "Service")
        if body["Type"] not in ITEM_TYPES:
            raise errors.invalid_property("Type")
        income = ref_value(body, "IncomeAccountRef")
        if income is None and body["Type"] in ("Service", "NonInventory", "Inventory"):
            raise errors.required("IncomeAccountRef")
        if income is not None:
            account = realm.referable("Account", income)
            if account is None:
                raise errors.invalid_reference("IncomeAccountRef")
            body["IncomeAccountRef"] = named_ref(income, account.body["Name"])
        if body.get("UnitPrice") is not None:
            body["UnitPrice"] = to_decimal(body["UnitPrice"], "UnitPrice")
        body["Active"] = body.get("Active", True) is not False
        return body

    def extra(self, realm, record):
        """FullyQualifiedName is the name (no sub-items in the sandbox)."""
        return {"FullyQualifiedName": record.body["Name"]}


class Account(EntityKind):
    """A chart-of-accounts entry; Name unique, AccountType required."""

    name, path, writable, name_list = "Account", "account", True, True
    fields = frozenset({"Name", "AccountType", "AccountSubType", "AcctNum", "Description", "Active",
                        "CurrencyRef", "ParentRef", "SubAccount", "TaxCodeRef"})
    read_only = frozenset({"Classification", "CurrentBalance", "CurrentBalanceWithSubAccounts",
                           "FullyQualifiedName"})

    def prepare(self, realm, body, record):
        """Name unique among accounts; AccountType one of QBO's types."""
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise errors.required("Name")
        body["Name"] = name.strip()
        check_string(body, "Name", 100)
        _unique(realm, "Account", "Name", body["Name"], record, "account")
        account_type = body.get("AccountType")
        if account_type is None:
            raise errors.required("AccountType")
        if account_type not in ACCOUNT_CLASSIFICATIONS:
            raise errors.invalid_property("AccountType")
        body["Classification"] = ACCOUNT_CLASSIFICATIONS[account_type]
        body["Active"] = body.get("Active", True) is not False
        check_currency(realm, body)
        return body

    def extra(self, realm, record):
        """Balances are not tracked by the sandbox: always zero."""
        return {"FullyQualifiedName": record.body["Name"], "CurrentBalance": Decimal("0"),
                "CurrentBalanceWithSubAccounts": Decimal("0")}


class TaxCode(EntityKind):
    """Tax codes: seeded, read-only (QBO creates them through taxservice/taxcode, not emulated)."""

    name, path, name_list = "TaxCode", "taxcode", True


class TaxRate(EntityKind):
    """Tax rates: seeded, read-only."""

    name, path, name_list = "TaxRate", "taxrate", True
