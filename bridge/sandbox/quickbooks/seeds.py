"""The two seeded companies: a US one (sales tax: TAX/NON + California 8.25 %) and a UK one (VAT codes)."""

from __future__ import annotations

from decimal import Decimal

from .store import Realm

US_REALM_ID = "9130350000000001"
UK_REALM_ID = "9130350000000002"
# Fixed offsets: Pacific standard time for the US company (DST is not modelled), UTC for the UK one.
US_UTC_OFFSET_MINUTES = -8 * 60
UK_UTC_OFFSET_MINUTES = 0
COMPANY_NAMES = {US_REALM_ID: "Sandbox Company US", UK_REALM_ID: "Sandbox Company UK"}

ACCOUNTS = [
    ("1", {"Name": "Services", "AccountType": "Income", "AccountSubType": "ServiceFeeIncome",
           "Classification": "Revenue"}),
    ("4", {"Name": "Undeposited Funds", "AccountType": "Other Current Asset",
           "AccountSubType": "UndepositedFunds", "Classification": "Asset"}),
    ("35", {"Name": "Checking", "AccountType": "Bank", "AccountSubType": "Checking",
            "Classification": "Asset"}),
    ("36", {"Name": "Savings", "AccountType": "Bank", "AccountSubType": "Savings",
            "Classification": "Asset"}),
]
ITEMS = [
    ("1", {"Name": "Services", "Type": "Service"}),
    ("2", {"Name": "Hours", "Type": "Service"}),
]
US_TAX_RATES = [("1", "California", Decimal("8.25"), "NONE")]
# (TaxCode Id, name, TaxRate Id or None, taxable)
US_TAX_CODES = [("TAX", "TAX", None, True), ("NON", "NON", None, False), ("2", "California", "1", True)]
UK_TAX_RATES = [("1", "20.0% S", Decimal("20.0"), "NONE"), ("2", "0.0% Z", Decimal("0"), "ZERO_RATE"),
                ("3", "Exempt", Decimal("0"), "EXEMPT"), ("4", "5.0% R", Decimal("5.0"), "NONE")]
UK_TAX_CODES = [("2", "20.0% S", "1", True), ("3", "0.0% Z", "2", True), ("4", "Exempt", "3", False),
                ("5", "5.0% R", "4", True)]


def _company(realm_id: str, country: str, address: dict) -> dict:
    return {"Id": "1", "SyncToken": "0", "CompanyName": COMPANY_NAMES[realm_id],
            "LegalName": COMPANY_NAMES[realm_id], "Country": country, "CompanyAddr": address,
            "LegalAddr": address, "Email": {"Address": "noreply@sandbox.invalid"}, "SupportedLanguages": "en",
            "FiscalYearStartMonth": "January", "CompanyStartDate": "2024-01-01",
            "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
            "domain": "QBO", "sparse": False}


def _preferences(currency: str, us: bool) -> dict:
    tax = {"UsingSalesTax": True, "PartnerTaxEnabled": False} if us else {"UsingSalesTax": True}
    return {"Id": "1", "SyncToken": "0", "TaxPrefs": tax,
            "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": currency}},
            "SalesFormsPrefs": {"CustomTxnNumbers": True, "AllowDiscount": False, "AllowShipping": False},
            "domain": "QBO", "sparse": False}


def _common(realm: Realm, now: float) -> None:
    for account_id, fields in ACCOUNTS:
        realm.add("Account", {**fields, "Active": True, "CurrencyRef": {"value": realm.home_currency}},
                  now, account_id)
    for item_id, fields in ITEMS:
        realm.add("Item", {**fields, "Active": True, "IncomeAccountRef": {"value": "1", "name": "Services"}},
                  now, item_id)


def _taxes(realm: Realm, now: float, rates, codes) -> None:
    for rate_id, name, value, special in rates:
        realm.add("TaxRate", {"Name": name, "Description": name, "Active": True, "RateValue": value,
                              "AgencyRef": {"value": "1"}, "SpecialTaxType": special,
                              "DisplayType": "ReadOnly"}, now, rate_id)
    for code_id, name, rate_id, taxable in codes:
        details = [] if rate_id is None else [
            {"TaxRateRef": {"value": rate_id, "name": realm.get("TaxRate", rate_id).body["Name"]},
             "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]
        realm.add("TaxCode", {"Name": name, "Description": name, "Active": True, "Taxable": taxable,
                              "TaxGroup": False, "SalesTaxRateList": {"TaxRateDetail": details},
                              "PurchaseTaxRateList": {"TaxRateDetail": []}}, now, code_id)


def seed_realms(now: float) -> dict[str, Realm]:
    """Fresh copies of the seeded companies, keyed by realm id."""
    us = Realm(US_REALM_ID, _company(US_REALM_ID, "US", {
        "Line1": "2600 Marine Way", "City": "Mountain View", "CountrySubDivisionCode": "CA",
        "PostalCode": "94043", "Country": "US"}), _preferences("USD", True), US_UTC_OFFSET_MINUTES)
    uk = Realm(UK_REALM_ID, _company(UK_REALM_ID, "GB", {
        "Line1": "1 Sandbox Street", "City": "London", "PostalCode": "EC1A 1AA", "Country": "GB"}),
        _preferences("GBP", False), UK_UTC_OFFSET_MINUTES)
    for realm, rates, codes in ((us, US_TAX_RATES, US_TAX_CODES), (uk, UK_TAX_RATES, UK_TAX_CODES)):
        _common(realm, now)
        _taxes(realm, now, rates, codes)
        for entity in ("Customer", "Item", "Account", "TaxCode", "TaxRate"):
            realm.counters.setdefault(entity, 0)
    return {us.id: us, uk.id: uk}


def realm_aliases() -> dict[str, str]:
    """Short names accepted by the sandbox's `realm` authorize parameter."""
    return {"US": US_REALM_ID, "UK": UK_REALM_ID, "GB": UK_REALM_ID}
