"""The `csv` ledger: each write appends a document's rows to today's import file, once per operation key."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from bridge.errors import LedgerNotFound, LedgerRejected
from bridge.ledgers.base import Context, Ledger, LedgerRef, Preview, Written
from bridge.ledgers.csv import layouts
from bridge.ledgers.csv.store import Entry, ImportFiles


def jsonable(value):
    """A normalized document as JSON-safe values (Decimals as exact strings, dates as ISO text)."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decimal(value) -> Decimal | None:
    """A stored decimal string back as Decimal."""
    return Decimal(value) if value not in (None, "") else None


def _date(value) -> date | None:
    """A stored ISO date back as a date."""
    return date.fromisoformat(value) if value else None


def read_back(ledger_id: str, document: dict) -> dict:
    """A stored document in the normalized read-back shape (totals are the lines' net sum: no tax is computed)."""
    lines = []
    subtotal = Decimal("0")
    for line in document.get("lines") or []:
        quantity, unit_price = _decimal(line.get("quantity")), _decimal(line.get("unit_price"))
        amount = quantity * unit_price if quantity is not None and unit_price is not None else Decimal("0")
        if line.get("discount_percent"):
            amount -= amount * Decimal(line["discount_percent"]) / Decimal(100)
        amount = amount.quantize(layouts.CENT, rounding=ROUND_HALF_UP)
        subtotal += amount
        lines.append({"description": line.get("description"), "quantity": quantity, "unit_price": unit_price,
                      "amount": amount, "product_code": line.get("product_code"),
                      "tax_category": line.get("tax_category")})
    customer = document.get("customer") or {}
    return {"ledger_id": ledger_id, "number": layouts.document_number(document),
            "customer": {"ledger_id": document.get("customer_ledger_id"), "external_id": customer.get("external_id"),
                         "name": customer.get("name") or document.get("customer_name")},
            "issue_date": _date(document.get("issue_date")), "due_date": _date(document.get("due_date")),
            "currency": document.get("currency"), "status": document.get("status") or "open", "balance": None,
            "totals": {"subtotal": subtotal, "tax": None, "total": None}, "lines": lines, "memo": document.get("memo")}


class Adapter(Ledger):
    """Writes import files in the connection's layout (`tenant_extra.layout`: xero or quickbooks)."""

    name = "csv"
    capabilities = ("invoices", "credit_notes", "customers", "import_files", "dry_run")

    def __init__(self, context: Context, files: ImportFiles | None = None, today=None):
        super().__init__(context)
        self.files = files or context.files
        self.today = today or (lambda: datetime.now(timezone.utc).date())

    @property
    def layout(self) -> str:
        """The connection's layout."""
        return (self.context.tenant_extra or {}).get("layout") or self.context.tenant_id

    def tenant_info(self) -> dict:
        """The layout stands in for the company."""
        return {"id": self.layout, "name": layouts.LAYOUT_NAMES.get(self.layout, self.layout), "country": None,
                "layout": self.layout}

    # --- writes ----------------------------------------------------------------------------------------
    def _render(self, obj: str, document: dict, customer: LedgerRef) -> layouts.Rendered:
        """The document's rows in today's file, or a rejection naming what the layout cannot carry."""
        name = customer.extra.get("name") or customer.ledger_id
        try:
            return layouts.render(self.layout, obj, document, self.context.mapping or {}, name, self.today())
        except layouts.Unsupported as exc:
            raise LedgerRejected(f"The {self.layout} CSV layout cannot carry this.", errors=[{
                "field": "external_id", "code": "unsupported",
                "message": f"{str(exc).capitalize()}: use a xero-layout csv connection."}]) from None

    def _write(self, obj: str, document: dict, customer: LedgerRef, request_key: str) -> Written:
        """Append the rows once under the request key (a retry finds the first write and adds nothing)."""
        rendered = self._render(obj, document, customer)
        ledger_id = layouts.ledger_id(document)
        stored = jsonable({**document, "customer_ledger_id": customer.ledger_id,
                           "customer_name": customer.extra.get("name") or customer.ledger_id})
        entry = self.files.append(Entry(request_key=request_key, object=obj, ledger_id=ledger_id,
                                        file=rendered.file, text=rendered.text(), row_count=len(rendered.rows),
                                        document=stored))
        return Written(ledger_id=entry.ledger_id, object=read_back(entry.ledger_id, entry.document),
                       warnings=rendered.warnings, extra={"file": entry.file})

    def upsert_customer(self, customer: dict, existing: LedgerRef | None, request_key: str) -> Written:
        """Customers travel inside each document's rows (the importers create contacts by name): nothing to write."""
        ledger_id = layouts.ledger_id({"external_id": "c-" + customer["external_id"]})
        return Written(ledger_id=ledger_id, extra={"name": customer.get("name") or customer["external_id"],
                                                   "email": customer.get("email")})

    def upsert_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None,
                       request_key: str) -> Written:
        """Append the invoice's rows to today's invoice file (an update is written again: the file is a log)."""
        return self._write("invoice", invoice, customer, request_key)

    def upsert_credit_note(self, credit_note: dict, customer: LedgerRef,
                           allocations: list[tuple[dict, LedgerRef]], existing: LedgerRef | None,
                           request_key: str) -> Written:
        """Append the credit note's rows to today's credit-note file (allocations are made at import)."""
        written = self._write("credit_note", credit_note, customer, request_key)
        if allocations:
            written.warnings.append("allocations are not in the import file: allocate the credit note after importing")
        return written

    def record_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                       existing: LedgerRef | None, request_key: str) -> Written:
        """The layouts carry no payments."""
        from bridge.ledgers.csv.rules import NO_PAYMENTS

        raise LedgerRejected(NO_PAYMENTS, errors=[{"field": "amount", "code": "unsupported", "message": NO_PAYMENTS}])

    def void_invoice(self, invoice: LedgerRef, request_key: str) -> Written:
        """An import file cannot void what was imported."""
        message = "An import file cannot void an invoice: void it in the accounting software."
        raise LedgerRejected(message, errors=[{"field": "external_id", "code": "unsupported", "message": message}])

    def add_note(self, invoice: LedgerRef, text: str, request_key: str) -> Written:
        """Notes stay on the bridge's side: the layouts have no note column."""
        return Written(ledger_id=invoice.ledger_id, warnings=["the csv ledger keeps no notes: kept by the bridge only"])

    # --- previews (dry run) ----------------------------------------------------------------------------
    def _preview(self, obj: str, document: dict, customer: LedgerRef) -> Preview:
        """The rows a write would append, and to which file."""
        rendered = self._render(obj, document, customer)
        return Preview("APPEND", rendered.file, {"columns": layouts.header(self.layout, obj), "rows": rendered.rows},
                       rendered.warnings)

    def preview_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The rows upsert_invoice would append."""
        return self._preview("invoice", invoice, customer)

    def preview_credit_note(self, credit_note: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The rows upsert_credit_note would append."""
        return self._preview("credit_note", credit_note, customer)

    def preview_customer(self, customer: dict, existing: LedgerRef | None) -> Preview:
        """Customers write nothing of their own."""
        return Preview("NONE", "", None, ["customers are written inside each document's rows"])

    # --- reads -----------------------------------------------------------------------------------------
    def get_invoice(self, invoice: LedgerRef) -> dict:
        """The invoice as last written to a file."""
        document = self.files.latest("invoice", invoice.ledger_id)
        if document is None:
            raise LedgerNotFound(f"No invoice {invoice.ledger_id!r} in this connection's files.")
        return read_back(invoice.ledger_id, document)

    def find_invoices(self, number: str | None = None, customer: LedgerRef | None = None,
                      limit: int = 50) -> list[dict]:
        """Invoices as last written, newest first, by number or customer."""
        found = []
        for ledger_id, document in self.files.documents("invoice"):
            if number is not None and layouts.document_number(document) != number:
                continue
            if customer is not None and document.get("customer_ledger_id") != customer.ledger_id:
                continue
            found.append(read_back(ledger_id, document))
            if len(found) >= limit:
                break
        return found

    def find_invoice_ids(self, numbers: list[str]) -> dict[str, str]:
        """Ledger ids of written invoices by number."""
        wanted = set(numbers)
        return {layouts.document_number(document): ledger_id for ledger_id, document in self.files.documents("invoice")
                if layouts.document_number(document) in wanted}

    def _read(self, obj: str, refs: list[LedgerRef]) -> dict[str, dict | None]:
        """Documents by ledger id, as last written."""
        result = {}
        for ref in refs:
            document = self.files.latest(obj, ref.ledger_id)
            result[ref.ledger_id] = None if document is None else {**read_back(ref.ledger_id, document), "payments": []}
        return result

    def read_invoices(self, invoices: list[LedgerRef]) -> dict[str, dict | None]:
        """Invoices as last written (a file holds no payments)."""
        return self._read("invoice", invoices)

    def read_credit_notes(self, credit_notes: list[LedgerRef]) -> dict[str, dict | None]:
        """Credit notes as last written."""
        return self._read("credit_note", credit_notes)

    def invoice_pdf(self, invoice: LedgerRef) -> bytes:
        """Import files have no PDF."""
        raise NotImplementedError("not available for this ledger")

    def list_accounts(self) -> list[dict]:
        """No chart of accounts: mapping references are free text."""
        return []

    def list_tax_rates(self) -> list[dict]:
        """No tax rates: mapping references are free text."""
        return []

    def list_items(self) -> list[dict]:
        """No items: mapping references are free text."""
        return []

    def find_customers(self, email: str | None = None, name: str | None = None) -> list[dict]:
        """No customer list."""
        return []
