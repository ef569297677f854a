"""The two seeded organisations: a UK one (GBP, VAT) and an AU one (AUD, GST), as Xero's demo files read."""

from __future__ import annotations

import uuid
from decimal import Decimal

from .store import Tenant

UK_TENANT_ID = "3b6f0a6e-5f1c-4c1e-9a43-6b2d1c7e0a01"
AU_TENANT_ID = "8d2e4c9a-1b7f-4e25-8c36-0f9a2b5d7e02"
SANDBOX_USER_ID = "5f3c2a1b-9d8e-4f70-a6b5-c4d3e2f1a0b9"  # the one Xero user who approves every consent
_NAMESPACE = uuid.UUID("0b8c7e1a-2f4d-4a6b-9c3e-5d7f1a2b3c4d")
# Fixed offsets (daylight saving is not modelled): London in winter, Sydney standard time.
UK_UTC_OFFSET_MINUTES = 0
AU_UTC_OFFSET_MINUTES = 10 * 60
SALES_PAYMENT_TERMS_DAYS = 30  # seeded org default: due 30 days after the invoice date

# (TaxType, Name, rate %, ReportTaxType, can apply to revenue, can apply to expenses)
UK_TAX_RATES = [
    ("OUTPUT2", "20% (VAT on Income)", Decimal("20"), "OUTPUT", True, False),
    ("RROUTPUT", "5% (VAT on Income)", Decimal("5"), "OUTPUT", True, False),
    ("ZERORATEDOUTPUT", "Zero Rated Income", Decimal("0"), "ZERORATEDOUTPUT", True, False),
    ("EXEMPTOUTPUT", "Exempt Income", Decimal("0"), "EXEMPTOUTPUT", True, False),
    ("NONE", "No VAT", Decimal("0"), "NONE", True, True),
    ("INPUT2", "20% (VAT on Expenses)", Decimal("20"), "INPUT", False, True),
]
AU_TAX_RATES = [
    ("OUTPUT", "GST on Income", Decimal("10"), "OUTPUT", True, False),
    ("EXEMPTOUTPUT", "GST Free Income", Decimal("0"), "EXEMPTOUTPUT", True, False),
    ("BASEXCLUDED", "BAS Excluded", Decimal("0"), "BASEXCLUDED", True, True),
    ("INPUT", "GST on Expenses", Decimal("10"), "INPUT", False, True),
]
# (Code, Name, Type, Class, TaxType, ReportingCode, bank account number or None)
UK_ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "ASSET", "NONE", "ASS", "12345678"),
    ("091", "Business Savings Account", "BANK", "ASSET", "NONE", "ASS", "87654321"),
    ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT2", "REV", None),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT2", "REV", None),
    ("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT2", "EXP", None),
]
AU_ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "ASSET", "BASEXCLUDED", "ASS", "062000-12345678"),
    ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT", "REV", None),
    ("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT", "EXP", None),
]
# (Code, Name, Description, unit price, sales account, sales tax type)
UK_ITEMS = [
    ("CONSULT", "Consulting", "Consulting, per hour", Decimal("100.00"), "200", "OUTPUT2"),
    ("LICENCE", "Software licence", "Annual software licence", Decimal("49.99"), "200", "OUTPUT2"),
]
AU_ITEMS = [
    ("CONSULT", "Consulting", "Consulting, per hour", Decimal("150.00"), "200", "OUTPUT"),
]


def fixed_id(tenant_id: str, kind: str, key: str) -> str:
    """A stable GUID for a seeded object, so ids survive a reset."""
    return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}/{kind}/{key}"))


def _organisation(tenant_id: str, name: str, country: str, currency: str, version: str, timezone_name: str,
                  tax_number: str, sales_tax_basis: str, sales_tax_period: str, short_code: str,
                  year_end_day: int, year_end_month: int) -> dict:
    return {"OrganisationID": tenant_id, "APIKey": "", "Name": name, "LegalName": name, "PaysTax": True,
            "Version": version, "OrganisationType": "COMPANY", "BaseCurrency": currency, "CountryCode": country,
            "IsDemoCompany": False, "OrganisationStatus": "ACTIVE", "TaxNumber": tax_number,
            "FinancialYearEndDay": year_end_day, "FinancialYearEndMonth": year_end_month,
            "SalesTaxBasis": sales_tax_basis, "SalesTaxPeriod": sales_tax_period,
            "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
            "OrganisationEntityType": "COMPANY", "Timezone": timezone_name, "ShortCode": short_code,
            "Edition": "BUSINESS", "Class": "STANDARD", "Addresses": [], "Phones": [], "ExternalLinks": [],
            "PaymentTerms": {"Sales": {"Day": SALES_PAYMENT_TERMS_DAYS, "Type": "DAYSAFTERBILLDATE"}}}


def _fill(tenant: Tenant, now: float, rates, accounts, items) -> Tenant:
    for tax_type, name, rate, report, revenue, expenses in rates:
        tenant.add("TaxRate", {
            "Name": name, "TaxType": tax_type, "ReportTaxType": report, "Status": "ACTIVE",
            "TaxComponents": [{"Name": "VAT" if tenant.country == "GB" else "GST", "Rate": rate,
                               "IsCompound": False, "IsNonRecoverable": False}],
            "CanApplyToAssets": True, "CanApplyToEquity": True, "CanApplyToExpenses": expenses,
            "CanApplyToLiabilities": True, "CanApplyToRevenue": revenue,
            "DisplayTaxRate": rate, "EffectiveRate": rate}, now, record_id=tax_type)
    for code, name, kind, klass, tax_type, reporting, bank_number in accounts:
        body = {"Code": code, "Name": name, "Type": kind, "Status": "ACTIVE", "Description": "",
                "TaxType": tax_type, "Class": klass, "EnablePaymentsToAccount": False,
                "ShowInExpenseClaims": False, "ReportingCode": reporting,
                "ReportingCodeName": {"ASS": "Asset", "REV": "Revenue", "EXP": "Expense"}[reporting],
                "HasAttachments": False, "AddToWatchlist": False}
        if bank_number is not None:
            body.update({"BankAccountNumber": bank_number, "BankAccountType": "BANK",
                         "CurrencyCode": tenant.base_currency})
        tenant.add("Account", body, now, record_id=fixed_id(tenant.id, "account", code))
    for code, name, description, price, account, tax_type in items:
        tenant.add("Item", {"Code": code, "Name": name, "Description": description, "IsSold": True,
                            "IsPurchased": False, "IsTrackedAsInventory": False,
                            "SalesDetails": {"UnitPrice": price, "AccountCode": account, "TaxType": tax_type}},
                   now, record_id=fixed_id(tenant.id, "item", code))
    return tenant


def seed_tenants(now: float) -> dict[str, Tenant]:
    """Fresh copies of the seeded organisations, keyed by tenant id."""
    uk = Tenant(UK_TENANT_ID, "Sandbox Company UK", "GB", "GBP", UK_UTC_OFFSET_MINUTES,
                _organisation(UK_TENANT_ID, "Sandbox Company UK", "GB", "GBP", "UK", "GMTSTANDARDTIME",
                              "GB123456789", "ACCRUALS", "QUARTERLY1", "!SbxUK", 31, 3),
                "NONE", now)
    au = Tenant(AU_TENANT_ID, "Sandbox Company AU", "AU", "AUD", AU_UTC_OFFSET_MINUTES,
                _organisation(AU_TENANT_ID, "Sandbox Company AU", "AU", "AUD", "AU", "AUSEASTERNSTANDARDTIME",
                              "53004085616", "ACCRUAL", "QUARTERLY", "!SbxAU", 30, 6),
                "BASEXCLUDED", now)
    _fill(uk, now, UK_TAX_RATES, UK_ACCOUNTS, UK_ITEMS)
    _fill(au, now, AU_TAX_RATES, AU_ACCOUNTS, AU_ITEMS)
    return {uk.id: uk, au.id: au}


def tenant_aliases() -> dict[str, str]:
    """Short names the sandbox accepts for its organisations (config and control routes)."""
    return {"UK": UK_TENANT_ID, "GB": UK_TENANT_ID, "AU": AU_TENANT_ID}
