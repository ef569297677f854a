"""The import-file layouts the `csv` ledger writes: Xero's sales-invoice / credit-note CSV, QuickBooks' invoice CSV.

Pure functions from a normalized document (and the connection's mapping, read as free text) to the
rows of a file. Sources (checked 2026; the importers match headers by name):
- Xero "Import sales invoices" template (Business > Invoices > Import > download template): one row per
  line, the invoice fields repeated; required columns carry a leading `*`; dates as DD/MM/YYYY; the
  Discount column is a percentage; Total and TaxAmount are recomputed by Xero; at most 500 invoices per
  file. Credit notes import through the same wizard with *CreditNoteNumber / *CreditNoteDate instead of
  the invoice number and dates, amounts positive.
  (xero-help.caltrix.asia "How to import sales invoice into Xero"; spreadsheetbroccoli.com Xero credit
  note import guide; docs.milientsoftware.com Xero templates.)
- QuickBooks Online "Import invoices" (Settings > Import data > Invoices): one row per line; the
  default headers InvoiceNo, Customer, InvoiceDate, DueDate, Terms, Location, Memo, Item(Product/Service),
  ItemDescription, ItemQuantity, ItemRate, ItemAmount, ItemTaxCode, ItemTaxAmount, Currency, Service Date
  map themselves; the date format and "exclusive/inclusive of tax" are chosen per file at import.
  (quickbooks.intuit.com learn-support "import invoices in batches"; Intuit community answer listing the
  auto-mapped headers.) QuickBooks' invoice import takes neither credit memos nor payments.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

LAYOUTS = ("xero", "quickbooks")
LAYOUT_NAMES = {"xero": "Xero sales invoice CSV import", "quickbooks": "QuickBooks Online invoice CSV import"}
XERO_MAX_INVOICES_PER_FILE = 500
"""Xero's importer refuses files with more invoices: split a day's file before importing it."""

XERO_ADDRESS = ("POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4", "POCity", "PORegion",
                "POPostalCode", "POCountry")
XERO_LINE = ("InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount", "*AccountCode",
             "*TaxType", "TaxAmount", "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2",
             "Currency", "BrandingTheme")
XERO_INVOICE_COLUMNS = ("*ContactName", "EmailAddress", *XERO_ADDRESS, "*InvoiceNumber", "Reference",
                        "*InvoiceDate", "*DueDate", "Total", *XERO_LINE)
XERO_CREDIT_NOTE_COLUMNS = ("*ContactName", "EmailAddress", *XERO_ADDRESS, "*CreditNoteNumber", "Reference",
                            "*CreditNoteDate", "Total", *XERO_LINE)
QUICKBOOKS_INVOICE_COLUMNS = ("InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo",
                              "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount",
                              "ItemTaxCode", "ItemTaxAmount", "Currency", "Service Date")

COLUMNS = {("xero", "invoice"): XERO_INVOICE_COLUMNS, ("xero", "credit_note"): XERO_CREDIT_NOTE_COLUMNS,
           ("quickbooks", "invoice"): QUICKBOOKS_INVOICE_COLUMNS}
"""The header of each (layout, object) file; a pair missing here is a document the layout cannot carry."""
FILE_PREFIXES = {"invoice": "invoices", "credit_note": "credit-notes"}
CENT = Decimal("0.01")
LEDGER_ID_MAX = 100


class Unsupported(ValueError):
    """The layout has no file for this kind of document."""


@dataclass
class Rendered:
    """A document as rows of its import file."""

    file: str
    rows: list[list[str]]
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The rows as CSV text (CRLF line ends, as RFC 4180 and spreadsheet importers expect)."""
        return csv_text(self.rows)


def csv_text(rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    """Rows as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def header(layout: str, obj: str) -> list[str]:
    """The header row of a (layout, object) file."""
    try:
        return list(COLUMNS[(layout, obj)])
    except KeyError:
        raise Unsupported(f"the {layout} layout has no {obj.replace('_', ' ')} import file") from None


def file_name(obj: str, day: date, amounts_include_tax: bool) -> str:
    """One file per kind, UTC day and tax treatment (the importers ask inclusive/exclusive once per file)."""
    inclusive = "-tax-inclusive" if amounts_include_tax else ""
    return f"{FILE_PREFIXES[obj]}{inclusive}-{day.isoformat()}.csv"


def document_number(document: dict) -> str:
    """The number written to the file: the document's number, else its external_id."""
    return str(document.get("number") or document["external_id"])


def ledger_id(document: dict) -> str:
    """The id the bridge remembers: the number written (hashed when longer than the column)."""
    number = document_number(document)
    if len(number) <= LEDGER_ID_MAX:
        return number
    return "h-" + hashlib.sha256(number.encode()).hexdigest()[:40]


def exact(value) -> str:
    """A Decimal written exactly as given ("1.50" stays "1.50"); blanks stay blank."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def tidy(value: Decimal) -> Decimal:
    """A computed amount without spurious trailing zeros: cents when it has them exactly, else as few places as needed."""
    cents = value.quantize(CENT)
    return cents if cents == value else value.normalize()


def dmy(value: date | None) -> str:
    """DD/MM/YYYY (Xero's import format)."""
    return value.strftime("%d/%m/%Y") if value else ""


def mdy(value: date | None) -> str:
    """MM/DD/YYYY (QuickBooks' US import format)."""
    return value.strftime("%m/%d/%Y") if value else ""


# --- mapping references, as free text ------------------------------------------------------------------

def _product(mapping: dict, line: dict) -> dict:
    """The mapping's entry for the line's product code."""
    return (mapping.get("products") or {}).get(line.get("product_code") or "") or {}


def account_code(mapping: dict, line: dict) -> str:
    """The line's account override, else its product's account, else the default income account."""
    return (line.get("account_code") or _product(mapping, line).get("account")
            or (mapping.get("defaults") or {}).get("income_account") or "")


def tax_code(mapping: dict, line: dict) -> str:
    """The tax code mapped for the line's tax category, else the default tax code."""
    mapped = (mapping.get("tax_categories") or {}).get(line.get("tax_category") or "")
    return mapped or (mapping.get("defaults") or {}).get("tax_code") or ""


def item_code(mapping: dict, line: dict) -> str:
    """The item mapped for the line's product code, else the product code, else the default item."""
    return (_product(mapping, line).get("item") or line.get("product_code")
            or (mapping.get("defaults") or {}).get("item") or "")


# --- rows ----------------------------------------------------------------------------------------------

def _contact(document: dict, customer_name: str) -> list[str]:
    """Xero's contact columns: name, e-mail and postal address."""
    customer = document.get("customer") or {}
    address = customer.get("address") or {}
    return [customer.get("name") or customer_name, customer.get("email") or "",
            address.get("line1") or "", address.get("line2") or "", "", "", address.get("city") or "",
            address.get("region") or "", address.get("postal_code") or "", address.get("country") or ""]


def _xero_line(mapping: dict, line: dict, currency: str) -> list[str]:
    """Xero's line columns."""
    return [_product(mapping, line).get("item") or line.get("product_code") or "",
            line.get("description") or "", exact(line["quantity"]), exact(line["unit_price"]),
            exact(line.get("discount_percent")), account_code(mapping, line), tax_code(mapping, line), "",
            "", "", "", "", currency, ""]


def xero_rows(obj: str, document: dict, mapping: dict, customer_name: str) -> tuple[list[list[str]], list[str]]:
    """Rows of a Xero sales-invoice or credit-note file."""
    warnings = []
    total = exact(((document.get("totals") or {}).get("total")))
    head = _contact(document, customer_name) + [document_number(document), document["external_id"][:255]]
    if obj == "invoice":
        due = document.get("due_date")
        if due is None:
            warnings.append("due_date missing: the Xero file's *DueDate is the issue date")
        head += [dmy(document["issue_date"]), dmy(due or document["issue_date"]), total]
    else:
        head += [dmy(document["issue_date"]), total]
    rows = [head + _xero_line(mapping, line, document["currency"]) for line in document["lines"]]
    missing = [f"lines[{index}]" for index, line in enumerate(document["lines"]) if not account_code(mapping, line)]
    if missing:
        warnings.append(f"no account code for {', '.join(missing)}: Xero's import needs *AccountCode "
                        "(set mapping.defaults.income_account)")
    return rows, warnings


def quickbooks_rows(document: dict, mapping: dict, customer_name: str) -> tuple[list[list[str]], list[str]]:
    """Rows of a QuickBooks invoice file: a line discount is folded into the rate, the amount to the cent."""
    warnings = []
    customer = (document.get("customer") or {}).get("name") or customer_name
    rows = []
    for index, line in enumerate(document["lines"]):
        rate = line["unit_price"]
        if line.get("discount_percent"):
            rate = tidy(rate * (Decimal(100) - line["discount_percent"]) / Decimal(100))
            warnings.append(f"lines[{index}]: the {exact(line['discount_percent'])}% discount is folded into "
                            f"the rate ({exact(rate)}): QuickBooks' import has no line discount")
        amount = line["quantity"] * rate
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        if rounded != amount:
            warnings.append(f"lines[{index}]: amount {exact(amount)} written rounded to {exact(rounded)}")
        rows.append([document_number(document), customer, mdy(document["issue_date"]),
                     mdy(document.get("due_date") or document["issue_date"]), "", "", document.get("memo") or "",
                     item_code(mapping, line), line.get("description") or "", exact(line["quantity"]),
                     exact(rate), exact(rounded), tax_code(mapping, line), "", document["currency"], ""])
    return rows, warnings


def render(layout: str, obj: str, document: dict, mapping: dict, customer_name: str, day: date) -> Rendered:
    """The document as rows of today's import file of its kind."""
    header(layout, obj)  # raises Unsupported for a pair the layout has no file for
    if layout == "xero":
        rows, warnings = xero_rows(obj, document, mapping, customer_name)
    else:
        rows, warnings = quickbooks_rows(document, mapping, customer_name)
    return Rendered(file_name(obj, day, bool(document.get("amounts_include_tax"))), rows, warnings)
