"""FreshBooks <-> normalized objects: pure functions, Decimal throughout, no HTTP.

Conventions (facts.py has the sources):
- money goes out as {"amount": "<2-decimal string>", "code": "<ISO 4217>"} and comes back as Decimal;
- tax rates are PERCENT strings with at most 3 decimals, named per line (at most two);
- a tax_categories mapping value names one FreshBooks tax ("GST"), two joined by "+" ("GST+PST"),
  or "NONE"; the rates come from the business's taxes (`company["taxes"]`, {name: rate});
- every object we write carries "Invoice Bridge: <external_id>" on a line of its own in a free-text
  field (client `note`, invoice and credit note `notes`, payment `note`): the way back to the source
  object, and how a look-up after an ambiguous failure recognises our own writes.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bridge.errors import LedgerRejected
from bridge.ledgers.base import money
from bridge.ledgers.freshbooks import facts
from bridge.ledgers.freshbooks.countries import country_code, country_name

HUNDRED = Decimal(100)
ZERO = Decimal("0")
SOURCE_NOTE = "Invoice Bridge: {}"
"""The back-reference line we add to every object we write."""
SOURCE_NOTE_PATTERN = re.compile(r"^Invoice Bridge: (.+?)\s*$", re.MULTILINE)
DRAFT_DOWNGRADE_WARNING = ("FreshBooks cannot take a sent invoice back to draft; it stays {status} in "
                           "FreshBooks")
EXCHANGE_RATE_WARNING = "FreshBooks takes no exchange rate on documents; exchange_rate not sent"

FIELD_BY_NAME = {
    "customerid": "customer", "clientid": "customer", "userid": "customer",
    "invoice_number": "number", "credit_number": "number",
    "create_date": "issue_date", "due_offset_days": "due_date", "due_date": "due_date",
    "currency_code": "currency", "notes": "memo", "terms": "memo", "lines": "lines",
    "amount": "amount", "date": "date", "invoiceid": "invoice_external_id", "type": "method",
    "note": "reference", "creditid": "allocations",
    "organization": "customer.name", "fname": "customer.name", "lname": "customer.name",
    "email": "customer.email", "bus_phone": "customer.phone", "vat_number": "customer.tax_number",
    "p_street": "customer.address.line1", "p_street2": "customer.address.line2",
    "p_city": "customer.address.city", "p_province": "customer.address.region",
    "p_code": "customer.address.postal_code", "p_country": "customer.address.country",
}
"""FreshBooks error `field` -> our field path."""
LINE_FIELD_BY_NAME = {
    "qty": "quantity", "unit_cost": "unit_price", "name": "product_code", "description": "description",
    "taxName1": "tax_category", "taxAmount1": "tax_category", "taxName2": "tax_category",
    "taxAmount2": "tax_category", "compounded_tax": "tax_category", "amount": "unit_price",
}
"""FreshBooks line field -> our line field."""
LINE_FIELD_PATTERN = re.compile(r"^lines?(?:\[(\d+)\]|\.(\d+))?(?:\.(\w+))?$")
ADDRESS_FIELDS = {"line1": "p_street", "line2": "p_street2", "city": "p_city", "region": "p_province",
                  "postal_code": "p_code"}
SCOPE_PATTERN = re.compile(r"Required:\s*\[([^\]]*)\]")

METHOD_TYPES = {
    "cash": "Cash", "check": "Check", "cheque": "Check", "card": "Credit Card", "credit card": "Credit Card",
    "creditcard": "Credit Card", "bank transfer": "Bank Transfer", "bank": "Bank Transfer",
    "transfer": "Bank Transfer", "wire": "Bank Transfer", "wire transfer": "Bank Transfer",
    "eft": "Bank Transfer", "bacs": "Bank Transfer", "sepa": "Bank Transfer", "debit": "Debit",
    "debit card": "Debit", "direct debit": "Debit", "paypal": "PayPal", "ach": "ACH", "visa": "VISA",
    "mastercard": "MASTERCARD", "amex": "AMEX", "american express": "AMEX", "discover": "DISCOVER",
    "diners": "DINERS", "diners club": "DINERS", "jcb": "JCB", "eurocard": "EUROCARD", "nova": "NOVA",
    "2checkout": "2Checkout", "credit": "Credit",
}
"""A normalized payment method (lower case, "_"/"-" as spaces) -> FreshBooks payment type."""


# --- numbers ---------------------------------------------------------------------------------------

def round_half_up(value: Decimal, places: int = facts.MONEY_PLACES) -> Decimal:
    """Round to `places` decimals, halves away from zero (facts.LINE_ROUNDING)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimal_places(value: Decimal) -> int:
    """Significant decimals of `value` (trailing zeros do not count)."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def amount_text(value) -> str:
    """A money amount as FreshBooks' 2-decimal string ("27.00"); refuses a value with more decimals."""
    value = Decimal(value)
    if decimal_places(value) > facts.MONEY_PLACES:
        raise ValueError(f"{value} has more than {facts.MONEY_PLACES} decimals")
    return format(value.quantize(facts.CENT), "f")


def money_out(value, currency: str | None) -> dict:
    """A FreshBooks money object: the amount as a string, with its currency when known."""
    body = {"amount": amount_text(value)}
    if currency:
        body["code"] = currency
    return body


def money_in(value) -> Decimal | None:
    """The Decimal inside a FreshBooks money object (or a bare amount); None when absent."""
    if isinstance(value, dict):
        value = value.get("amount")
    if value is None or value == "":
        return None
    return money(value)


def percent_text(rate) -> str:
    """A tax rate as FreshBooks' percent string ("5", "13.175"); refuses more than 3 decimals."""
    rate = Decimal(rate)
    if decimal_places(rate) > facts.TAX_PERCENT_PLACES:
        raise ValueError(f"{rate} has more than {facts.TAX_PERCENT_PLACES} decimals")
    return format(rate.normalize(), "f")


def _number(value) -> str:
    """A Decimal as plain text without trailing zeros ("10", "12.5")."""
    return format(Decimal(value).normalize(), "f")


def _decimal(value) -> Decimal | None:
    """A FreshBooks number or numeric string as Decimal; None when absent or not a number."""
    if value is None or value == "":
        return None
    try:
        return money(value)
    except (InvalidOperation, ValueError):
        return None


def _id(value):
    """A ledger id as FreshBooks wants it in a body: an integer when it is one."""
    text = str(value)
    return int(text) if text.isdigit() else text


def _iso(value) -> str | None:
    """A date (or ISO string) as YYYY-MM-DD."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _date(value) -> date | None:
    """FreshBooks' YYYY-MM-DD (or a datetime string) as a date."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(value) -> str | None:
    """A FreshBooks string with empty meaning absent."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


# --- back-references -----------------------------------------------------------------------------------

def with_source(text: str | None, external_id: str | None) -> str:
    """`text` followed by our back-reference line (either may be missing)."""
    parts = [part for part in ((text or "").rstrip(), SOURCE_NOTE.format(external_id) if external_id else "")
             if part]
    return "\n\n".join(parts)


def source_external_id(text: str | None) -> str | None:
    """The external_id of our back-reference line in `text`, if there is one."""
    found = SOURCE_NOTE_PATTERN.findall(text or "")
    return found[-1].strip() if found else None


def without_source(text: str | None) -> str | None:
    """`text` without our back-reference line (the user's own memo or reference)."""
    cleaned = SOURCE_NOTE_PATTERN.sub("", text or "").strip()
    return cleaned or None


def memo_before_source(text: str | None) -> str | None:
    """The user's memo: what comes before our back-reference line (notes added through the bridge follow it)."""
    found = SOURCE_NOTE_PATTERN.search(text or "")
    return without_source(text[:found.start()] if found else text)


def notes_after_source(text: str | None) -> str:
    """The notes added through the bridge: what follows our back-reference line ("" when nothing does)."""
    found = SOURCE_NOTE_PATTERN.search(text or "")
    return text[found.end():].strip() if found else ""


def with_note(text: str | None, note: str) -> str:
    """`text` (memo, back-reference, earlier notes) with one more note at the end."""
    return "\n\n".join(part for part in ((text or "").rstrip(), note.strip()) if part)


# --- discounts and precision -------------------------------------------------------------------------

def fold_discount(quantity, unit_price, percent) -> Decimal | None:
    """The unit cost with `percent` off, if FreshBooks can hold it exactly; None when it cannot.

    FreshBooks lines have no discount field (only an invoice-level discount). The folded unit cost
    is exact when it has at most facts.UNIT_COST_PLACES decimals; then qty x unit_cost is the same
    amount as the discounted line. None means the line must be refused (lines[i].discount_percent).
    """
    quantity, unit_price, percent = Decimal(quantity), Decimal(unit_price), Decimal(percent or 0)
    if not percent:
        return unit_price if decimal_places(unit_price) <= facts.UNIT_COST_PLACES else None
    folded = unit_price * (HUNDRED - percent) / HUNDRED
    if decimal_places(folded) > facts.UNIT_COST_PLACES:
        return None
    folded = folded.quantize(facts.CENT)
    if round_half_up(quantity * folded) != round_half_up(quantity * unit_price * (HUNDRED - percent) / HUNDRED):
        return None
    return folded


def line_errors(lines: list[dict] | None) -> list[dict]:
    """Field errors for lines FreshBooks cannot hold exactly (the API's 422 before queueing)."""
    errors = []
    for index, line in enumerate(lines or []):
        error = _precision_error(index, line)
        if error:
            errors.append(error)
    return errors


def _precision_error(index: int, line: dict) -> dict | None:
    """The refusal of one line whose unit price, discounted or not, is finer than FreshBooks keeps."""
    if fold_discount(line["quantity"], line["unit_price"], line.get("discount_percent")) is not None:
        return None
    if line.get("discount_percent"):
        return {"field": f"lines[{index}].discount_percent", "code": "discount_not_exact",
                "message": (f"FreshBooks has no line discounts, and {_number(line['discount_percent'])}% off "
                            f"{_number(line['unit_price'])} is not exact at {facts.UNIT_COST_PLACES} decimals: "
                            "send the discounted unit price, or the discount as its own line")}
    return {"field": f"lines[{index}].unit_price", "code": "too_precise",
            "message": f"FreshBooks keeps unit prices to {facts.UNIT_COST_PLACES} decimals"}


# --- taxes -------------------------------------------------------------------------------------------

def tax_names(value: str | None) -> list[str]:
    """The FreshBooks tax names a mapping value stands for ("GST+PST" -> ["GST", "PST"], "NONE" -> [])."""
    if value is None or value.strip().upper() == facts.NO_TAX:
        return []
    return [name.strip() for name in value.split(facts.TAX_SEPARATOR) if name.strip()]


def company_taxes(company: dict | None) -> dict[str, Decimal]:
    """The business's taxes as {name: Decimal percent} (tenant_info stores the rates as strings)."""
    return {name: Decimal(str(rate)) for name, rate in ((company or {}).get("taxes") or {}).items()}


def mapping_tax_errors(mapping: dict | None, taxes: dict | None = None) -> list[dict]:
    """Field errors in a mapping's FreshBooks tax references: at most two taxes, each one known."""
    mapping = mapping or {}
    refs = [(f"tax_categories.{category}", value)
            for category, value in (mapping.get("tax_categories") or {}).items()]
    default = (mapping.get("defaults") or {}).get("tax_code")
    if default:
        refs.append(("defaults.tax_code", default))
    known = {name.casefold() for name in (taxes or {})}
    errors = []
    for field, value in refs:
        names = tax_names(value)
        if len(names) > facts.TAXES_PER_LINE:
            errors.append({"field": field, "code": "too_many_taxes",
                           "message": f"FreshBooks takes at most {facts.TAXES_PER_LINE} taxes per line "
                                      f"(\"GST\" or \"GST{facts.TAX_SEPARATOR}PST\")"})
        elif taxes is not None:
            unknown = [name for name in names if name.casefold() not in known]
            if unknown:
                errors.append({"field": field, "code": "unknown_tax",
                               "message": f"FreshBooks has no tax named {', '.join(map(repr, unknown))}"})
    return errors


def _line_taxes(index: int, line: dict, mapping: dict, company: dict, warnings: list,
                errors: list) -> list[tuple[str, Decimal]]:
    """The (name, rate) pairs of one line: its category's mapped taxes, else defaults.tax_code."""
    category = line.get("tax_category")
    categories = mapping.get("tax_categories") or {}
    default = (mapping.get("defaults") or {}).get("tax_code")
    value = categories.get(category) if category else None
    if value is None:
        value = default
        if category and default:
            warnings.append(f"lines[{index}]: tax category {category!r} is not mapped; "
                            f"written with the default taxes {default!r}")
        elif category:
            errors.append({"field": f"lines[{index}].tax_category", "code": "mapping_missing",
                           "message": "No FreshBooks tax for this category: map it (\"GST\", \"GST+PST\" "
                                      "or \"NONE\"), or set defaults.tax_code"})
            return []
    names = tax_names(value)
    if len(names) > facts.TAXES_PER_LINE:
        errors.append({"field": f"lines[{index}].tax_category", "code": "too_many_taxes",
                       "message": f"{value!r} names {len(names)} taxes; FreshBooks takes at most "
                                  f"{facts.TAXES_PER_LINE} per line"})
        return []
    rates = company_taxes(company)
    by_folded = {name.casefold(): name for name in rates}
    found = []
    for name in names:
        real = name if name in rates else by_folded.get(name.casefold())
        if real is None:
            errors.append({"field": f"lines[{index}].tax_category", "code": "unknown_tax",
                           "message": f"This FreshBooks business has no tax named {name!r}"})
            continue
        if decimal_places(rates[real]) > facts.TAX_PERCENT_PLACES:
            errors.append({"field": f"lines[{index}].tax_category", "code": "too_precise",
                           "message": f"FreshBooks tax rates have at most {facts.TAX_PERCENT_PLACES} decimals"})
            continue
        found.append((real, rates[real]))
    return found


# --- customers -----------------------------------------------------------------------------------------

def customer_payload(customer: dict) -> dict:
    """A normalized customer as a FreshBooks client body (organization = name, p_country a NAME)."""
    name = (customer.get("name") or "").strip()
    if not name:
        raise LedgerRejected("A FreshBooks client needs a name", errors=[
            {"field": "customer.name", "code": "required", "message": "Required: sent as the organization"}])
    body = {"organization": name}
    if customer.get("email"):
        body["email"] = customer["email"]
    if customer.get("phone"):
        body["bus_phone"] = customer["phone"]
    if customer.get("currency"):
        body["currency_code"] = customer["currency"]
    address = customer.get("address") or {}
    for ours, theirs in ADDRESS_FIELDS.items():
        if address.get(ours):
            body[theirs] = address[ours]
    if address.get("country"):
        body["p_country"] = country_name(address["country"])
    if customer.get("tax_number"):
        body["vat_number"] = customer["tax_number"]
    if customer.get("external_id"):
        body["note"] = with_source(None, customer["external_id"])
    return body


def client_name(client: dict) -> str | None:
    """What FreshBooks shows for a client: its organization, else first and last name."""
    organization = _text(client.get("organization") or client.get("current_organization"))
    if organization:
        return organization
    person = " ".join(part for part in (_text(client.get("fname")), _text(client.get("lname"))) if part)
    return person or None


def customer_from_fb(client: dict) -> dict:
    """A FreshBooks client as a normalized customer."""
    address = {ours: _text(client.get(theirs)) for ours, theirs in ADDRESS_FIELDS.items()}
    address["country"] = country_code(client.get("p_country"))
    return {
        "ledger_id": str(client.get("id") or client.get("userid") or ""),
        "external_id": source_external_id(client.get("note")),
        "name": client_name(client),
        "email": _text(client.get("email")),
        "phone": _text(client.get("bus_phone") or client.get("mob_phone")),
        "address": address if any(address.values()) else None,
        "tax_number": _text(client.get("vat_number")),
        "currency": _text(client.get("currency_code")),
        "active": client.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED,
    }


# --- invoices and credit notes -------------------------------------------------------------------------

def invoice_payload(invoice: dict, customer_id: str, mapping: dict | None,
                    company: dict | None) -> tuple[dict, list[str]]:
    """A normalized invoice as a FreshBooks invoice body, with warnings; LedgerRejected names bad fields."""
    warnings, errors = [], []
    body = {"customerid": _id(customer_id), "create_date": _iso(invoice["issue_date"])}
    if invoice.get("due_date"):
        body["due_offset_days"] = (invoice["due_date"] - invoice["issue_date"]).days
    body.update(_header(invoice, "invoice_number", warnings))
    body["lines"] = _lines(invoice, mapping or {}, company or {}, warnings, errors, line_type=True)
    if errors:
        raise LedgerRejected("FreshBooks cannot take this invoice as it is", errors=errors)
    return body, warnings


def credit_note_payload(credit_note: dict, customer_id: str, mapping: dict | None,
                        company: dict | None) -> tuple[dict, list[str]]:
    """A normalized credit note as a FreshBooks goodwill credit note body, with warnings."""
    warnings, errors = [], []
    body = {"clientid": _id(customer_id), "create_date": _iso(credit_note["issue_date"]),
            "credit_type": facts.CREDIT_TYPE}
    body.update(_header(credit_note, "credit_number", warnings))
    body["lines"] = _lines(credit_note, mapping or {}, company or {}, warnings, errors, line_type=False)
    if errors:
        raise LedgerRejected("FreshBooks cannot take this credit note as it is", errors=errors)
    return body, warnings


def _header(document: dict, number_key: str, warnings: list) -> dict:
    """Currency, number and notes (memo + our back-reference) of an invoice or credit note."""
    body = {}
    if document.get("currency"):
        body["currency_code"] = document["currency"]
    if document.get("number"):
        body[number_key] = document["number"]
    body["notes"] = with_source(document.get("memo"), document.get("external_id"))
    if document.get("exchange_rate") is not None:
        warnings.append(EXCHANGE_RATE_WARNING)
    return body


def _lines(document: dict, mapping: dict, company: dict, warnings: list, errors: list, *,
           line_type: bool) -> list[dict]:
    """The FreshBooks lines of an invoice or credit note: folded discounts, up to two named taxes."""
    currency = document.get("currency")
    inclusive = bool(document.get("amounts_include_tax"))
    products = mapping.get("products") or {}
    lines = []
    for index, line in enumerate(document.get("lines") or []):
        quantity, unit_price = Decimal(line["quantity"]), Decimal(line["unit_price"])
        percent = Decimal(line.get("discount_percent") or 0)
        unit_cost = fold_discount(quantity, unit_price, percent)
        if unit_cost is None:
            errors.append(_precision_error(index, line))
            continue
        if percent:
            warnings.append(f"lines[{index}]: {_number(percent)}% discount folded into the unit price "
                            f"({_number(unit_price)} -> {unit_cost})")
        code = line.get("product_code")
        account = line.get("account_code") or ((products.get(code) or {}).get("account") if code else None)
        if account:
            warnings.append(f"lines[{index}]: income account {account} not applied: FreshBooks invoice "
                            "lines take no account")
        taxes = _line_taxes(index, line, mapping, company, warnings, errors)
        if taxes and inclusive:
            errors.append({"field": "amounts_include_tax", "code": "unsupported",
                           "message": "FreshBooks line prices are before tax: send amounts_include_tax false"})
            inclusive = False  # one error for the document, not one per line
        row = {"name": code or line.get("description") or "Item", "qty": quantity,
               "unit_cost": money_out(unit_cost, currency)}
        if line_type:
            row = {"type": facts.LINE_TYPE_NORMAL, **row}
        if line.get("description"):
            row["description"] = line["description"]
        for number, (name, rate) in enumerate(taxes, start=1):
            row[f"taxName{number}"] = name
            row[f"taxAmount{number}"] = percent_text(rate)
        if len(taxes) == 2 and taxes[1][0] in set((company or {}).get("compound_taxes") or ()):
            row["compounded_tax"] = True
        lines.append(row)
    return lines


def _lines_from_fb(fb: dict) -> list[dict]:
    """The lines of a FreshBooks invoice or credit note, normalized (amounts before tax)."""
    lines = []
    for line in fb.get("lines") or []:
        quantity = _decimal(line.get("qty"))
        unit_cost = money_in(line.get("unit_cost"))
        amount = money_in(line.get("amount"))
        if amount is None and quantity is not None and unit_cost is not None:
            amount = round_half_up(quantity * unit_cost)
        taxes = [{"name": _text(line.get(f"taxName{n}")), "rate": _decimal(line.get(f"taxAmount{n}"))}
                 for n in (1, 2) if _text(line.get(f"taxName{n}"))]
        lines.append({"name": _text(line.get("name")), "description": _text(line.get("description")),
                      "quantity": quantity, "unit_price": unit_cost, "amount": amount or ZERO,
                      "taxes": taxes, "compounded_tax": bool(line.get("compounded_tax"))})
    return lines


def line_tax(line: dict) -> Decimal:
    """The tax of one normalized read-back line, each tax rounded to cents (facts.LINE_ROUNDING)."""
    total, base = ZERO, line["amount"]
    for number, tax in enumerate(line["taxes"]):
        rate = tax["rate"] or ZERO
        taxed = base + total if number == 1 and line["compounded_tax"] else base
        total += round_half_up(taxed * rate / HUNDRED)
    return total


def totals_from_fb(fb: dict, lines: list[dict]) -> dict:
    """{subtotal, tax, total}: FreshBooks' own `amount` is the total; the tax is what lies between.

    FreshBooks answers no tax total. With lines, subtotal is the sum of line amounts and tax is
    total - (subtotal - invoice discount); without FreshBooks' total, tax is computed per line.
    """
    total = money_in(fb.get("amount"))
    if not lines and fb.get("lines") is None:
        return {"subtotal": None, "tax": None, "total": total}
    subtotal = sum((line["amount"] for line in lines), ZERO)
    discount = money_in(fb.get("discount_total")) or ZERO
    if total is None:
        tax = sum((line_tax(line) for line in lines), ZERO)
        total = subtotal - discount + tax
    else:
        tax = total - (subtotal - discount)
    return {"subtotal": subtotal, "tax": tax, "total": total}


def status_code(fb: dict) -> int | None:
    """The numeric status of a FreshBooks document, whether it came as a code or a name."""
    for key in ("status", "v3_status"):
        value = fb.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            if value.isdigit():
                return int(value)
            if value.lower() in facts.STATUS_NAMES:
                return facts.STATUS_NAMES[value.lower()]
    return None


def invoice_status(fb: dict) -> str:
    """draft, open, partially_paid, paid or void (a soft-deleted invoice is void: facts.VOID_MEANS_DELETE)."""
    if fb.get("vis_state") == facts.VIS_DELETED:
        return "void"
    code = status_code(fb)
    if code == facts.STATUS_DRAFT:
        return "draft"
    total, outstanding = money_in(fb.get("amount")), money_in(fb.get("outstanding"))
    if total is not None and outstanding is not None:
        if outstanding <= 0 and total > 0:
            return "paid"
        if 0 < outstanding < total:
            return "partially_paid"
        if outstanding > 0:
            return "open"
    if code in (facts.STATUS_PAID, facts.STATUS_AUTO_PAID):
        return "paid"
    if code == facts.STATUS_PARTIAL:
        return "partially_paid"
    return "open"


def _document_from_fb(fb: dict, customer_key: str, number_key: str) -> dict:
    """Fields shared by FreshBooks invoices and credit notes, normalized."""
    lines = _lines_from_fb(fb)
    return {
        "ledger_id": str(fb.get("id") or fb.get("invoiceid") or fb.get("creditid") or ""),
        "external_id": source_external_id(fb.get("notes")),
        "number": _text(fb.get(number_key)),
        "customer": {"ledger_id": str(fb.get(customer_key)) if fb.get(customer_key) is not None else None,
                     "name": client_name(fb)},
        "issue_date": _date(fb.get("create_date")),
        "currency": _text(fb.get("currency_code")),
        "exchange_rate": None,
        "amounts_include_tax": False,
        "lines": lines,
        "memo": memo_before_source(fb.get("notes")),
        "totals": totals_from_fb(fb, lines),
    }


def invoice_from_fb(fb: dict) -> dict:
    """A FreshBooks invoice as a normalized invoice (read back); balance is `outstanding`."""
    invoice = _document_from_fb(fb, "customerid", "invoice_number")
    due = _date(fb.get("due_date"))
    if due is None and invoice["issue_date"] and fb.get("due_offset_days") is not None:
        due = date.fromordinal(invoice["issue_date"].toordinal() + int(fb["due_offset_days"]))
    outstanding = money_in(fb.get("outstanding"))
    invoice.update(due_date=due, status=invoice_status(fb),
                   balance=outstanding if outstanding is not None else invoice["totals"]["total"],
                   paid=money_in(fb.get("paid")))
    return invoice


def credit_note_from_fb(fb: dict) -> dict:
    """A FreshBooks credit note as a normalized credit note (read back)."""
    credit_note = _document_from_fb(fb, "clientid", "credit_number")
    credit_note.update(credit_type=fb.get("credit_type"), void=fb.get("vis_state") == facts.VIS_DELETED)
    return credit_note


# --- payments -----------------------------------------------------------------------------------------

def _normalized_method(method: str | None) -> str:
    """A payment method as a METHOD_TYPES key."""
    return re.sub(r"[\s_\-]+", " ", (method or "").strip().lower())


def _type_named(value: str | None) -> str | None:
    """The FreshBooks payment type `value` names (case-insensitive), if it names one."""
    folded = (value or "").strip().casefold()
    return next((kind for kind in facts.PAYMENT_TYPES if kind.casefold() == folded), None)


def payment_type(payment: dict, mapping: dict | None) -> tuple[str, list[str]]:
    """The FreshBooks payment type, and warnings.

    FreshBooks payments carry no deposit account; their `type` is the nearest thing. In order: the
    payment's deposit_account when it names a type, the mapping's defaults.payment_account when it
    names a type (automatic deposits: every payment lands there), its method (cash, card,
    bank_transfer, ...), else FreshBooks' default (Check).
    """
    warnings = []
    explicit = payment.get("deposit_account")
    if _type_named(explicit):
        return _type_named(explicit), warnings
    if explicit:
        warnings.append(f"deposit_account {explicit!r} not applied: FreshBooks payments take a type "
                        f"({', '.join(facts.PAYMENT_TYPES[:7])}, ...), not an account")
    default = _type_named(((mapping or {}).get("defaults") or {}).get("payment_account"))
    if default:
        return default, warnings
    method = payment.get("method")
    kind = METHOD_TYPES.get(_normalized_method(method)) or _type_named(method)
    if kind:
        return kind, warnings
    chosen = facts.DEFAULT_PAYMENT_TYPE
    if method:
        warnings.append(f"payment method {method!r} has no FreshBooks payment type; recorded as {chosen!r}")
    return chosen, warnings


def _payment_amount(value, field: str) -> str:
    """A payment amount as a 2-decimal string, refused (naming `field`) when finer."""
    try:
        return amount_text(value)
    except ValueError:
        raise LedgerRejected("Amount too precise for FreshBooks", errors=[
            {"field": field, "code": "too_precise", "message": "At most 2 decimals"}]) from None


def payment_payload(payment: dict, invoice_id: str, mapping: dict | None) -> tuple[dict, list[str]]:
    """A normalized payment as a FreshBooks payment on one invoice, with warnings."""
    kind, warnings = payment_type(payment, mapping)
    body = {"invoiceid": _id(invoice_id), "amount": {"amount": _payment_amount(payment["amount"], "amount")},
            "date": _iso(payment["date"]), "type": kind,
            "note": with_source(payment.get("reference"), payment.get("external_id"))}
    if payment.get("exchange_rate") is not None:
        warnings.append(EXCHANGE_RATE_WARNING.replace("documents", "payments"))
    return body, warnings


def allocation_payload(credit_note_id: str, invoice_id: str, amount, when, external_id: str | None,
                       index: int) -> dict:
    """A payment of type Credit that applies `amount` of a credit note to an invoice. [U] facts."""
    return {"invoiceid": _id(invoice_id), "creditid": _id(credit_note_id),
            "amount": {"amount": _payment_amount(amount, f"allocations[{index}].amount")},
            "date": _iso(when), "type": facts.CREDIT_PAYMENT_TYPE,
            "note": with_source(None, external_id)}


def payment_from_fb(fb: dict) -> dict:
    """A FreshBooks payment as a normalized payment (read back)."""
    amount = fb.get("amount")
    return {
        "ledger_id": str(fb.get("id") or fb.get("logid") or ""),
        "external_id": source_external_id(fb.get("note")),
        "invoice": {"ledger_id": str(fb["invoiceid"]) if fb.get("invoiceid") is not None else None},
        "customer": {"ledger_id": str(fb["clientid"]) if fb.get("clientid") is not None else None},
        "amount": money_in(amount) or ZERO,
        "currency": amount.get("code") if isinstance(amount, dict) else None,
        "date": _date(fb.get("date")),
        "method": _text(fb.get("type")),
        "reference": without_source(fb.get("note")),
        "credit_note": {"ledger_id": str(fb["creditid"])} if fb.get("creditid") else None,
        "overpayment_id": str(fb["overpaymentid"]) if fb.get("overpaymentid") else None,
        "active": fb.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED,
    }


def same_payment(fb: dict, body: dict) -> bool:
    """True when a FreshBooks payment is the one `body` would create (after an ambiguous failure)."""
    return (fb.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED
            and str(fb.get("invoiceid")) == str(body["invoiceid"])
            and money_in(fb.get("amount")) == Decimal(body["amount"]["amount"])
            and _iso(fb.get("date")) == body["date"]
            and source_external_id(fb.get("note")) is not None
            and source_external_id(fb.get("note")) == source_external_id(body.get("note"))
            and str(fb.get("creditid") or "") == str(body.get("creditid") or ""))


# --- the business, reference data ----------------------------------------------------------------------

def tenants_from_identity(identity: dict) -> list[dict]:
    """The businesses a user can write to, as tenants: {id: account_id, name, business_id, business_uuid}."""
    tenants = []
    for membership in identity.get("business_memberships") or []:
        business = membership.get("business") or {}
        if membership.get("role") in facts.EXCLUDED_ROLES or not business.get("account_id"):
            continue
        tenants.append({"id": str(business["account_id"]), "name": business.get("name"),
                        "business_id": str(business["id"]) if business.get("id") is not None else None,
                        "business_uuid": business.get("business_uuid")})
    return tenants


def business_from_identity(identity: dict, account_id: str) -> dict | None:
    """The business with this account_id among the user's memberships, if any."""
    for membership in identity.get("business_memberships") or []:
        business = membership.get("business") or {}
        if str(business.get("account_id")) == str(account_id):
            return business
    return None


def company_from_fb(account_id: str, business: dict, taxes: list[dict]) -> dict:
    """Identity business + taxes as the tenant facts the adapter keeps (JSON-safe: rates as strings)."""
    address = business.get("address") or {}
    return {
        "id": str(account_id),
        "name": business.get("name"),
        "country": country_code(address.get("country")),
        "home_currency": _text(business.get("currency_code") or business.get("base_currency")),
        "business_id": str(business["id"]) if business.get("id") is not None else None,
        "business_uuid": business.get("business_uuid"),
        "taxes": {tax["name"]: _number(tax["rate"]) for tax in taxes if tax["name"] and tax["rate"] is not None},
        "compound_taxes": [tax["name"] for tax in taxes if tax["extra"]["compound"]],
    }


def tax_from_fb(fb: dict) -> dict:
    """A FreshBooks tax as a tax rate; `id` is its NAME, which mappings and lines use."""
    name = _text(fb.get("name"))
    return {"id": name, "name": name, "rate": _decimal(fb.get("amount")), "active": True,
            "extra": {"ledger_id": str(fb.get("taxid") or fb.get("id") or ""), "number": _text(fb.get("number")),
                      "compound": bool(fb.get("compound"))}}


def item_from_fb(fb: dict) -> dict:
    """A FreshBooks item as a normalized item."""
    return {"id": str(fb.get("id") or fb.get("itemid") or ""), "code": _text(fb.get("sku")) or _text(fb.get("name")),
            "name": _text(fb.get("name")), "unit_price": money_in(fb.get("unit_cost")), "income_account": None,
            "active": fb.get("vis_state", facts.VIS_ACTIVE) == facts.VIS_ACTIVE,
            "extra": {"description": _text(fb.get("description"))}}


def item_payload(item: dict, currency: str | None) -> dict:
    """A product the invoicing platform owns (`{code, description, unit_price, field}`) as a new FreshBooks
    item named by its code (invoice lines name their item); the unit cost kept when exact in `currency`."""
    name = str(item["code"]).strip()
    if not name:
        raise LedgerRejected("A FreshBooks item needs a name", errors=[{
            "field": item.get("field") or "product_code", "code": "required",
            "message": "FreshBooks items need a name"}])
    body = {"name": name}
    if item.get("description"):
        body["description"] = item["description"]
    price = item.get("unit_price")
    if price is not None and currency and decimal_places(Decimal(price)) <= facts.MONEY_PLACES:
        body["unit_cost"] = money_out(price, currency)
    return body


def account_from_fb(fb: dict) -> dict:
    """A FreshBooks ledger account as a normalized account; `id` is its uuid."""
    sub_type = _text(fb.get("sub_type"))
    return {"id": fb.get("uuid"), "code": _text(fb.get("number")), "name": _text(fb.get("name")),
            "type": _text(fb.get("type")), "class": sub_type, "currency": None,
            "bank": (sub_type or "").casefold() == "cash & bank", "active": fb.get("state", "active") == "active",
            "extra": {"parent": fb.get("parent_account")}}


# --- errors ---------------------------------------------------------------------------------------

def error_field(name: str | None) -> str:
    """Our field path for a FreshBooks error field; the raw name when we have none for it."""
    name = (name or "").strip()
    found = LINE_FIELD_PATTERN.match(name)
    if found and name != "lines":
        index = found.group(1) or found.group(2)
        inner = LINE_FIELD_BY_NAME.get(found.group(3) or "", found.group(3))
        path = f"lines[{index}]" if index is not None else "lines"
        return f"{path}.{inner}" if inner else path
    return FIELD_BY_NAME.get(name, name)


def error_list(body) -> list[dict]:
    """A FreshBooks error body (any of its shapes) as `[{field, message, code}]` with OUR field paths.

    Shapes: accounting {"response": {"errors": [{errno, field, message, object, value}]}} (a dict
    instead of a list too); the newer {"code", "message", "details": [{reason, metadata: {field,
    message}}]}; ledger accounts {"errors": {"message", "details": [...]}}; a missing scope
    {"message": "insufficient_scope: ... Required: [...]"}; OAuth {"error", "error_description"}.
    """
    if not isinstance(body, dict):
        return []
    found = []
    response = body.get("response") if isinstance(body.get("response"), dict) else {}
    raw = response.get("errors") if response else None
    if isinstance(raw, dict):
        raw = [raw]
    for error in raw or []:
        found.append({"field": error_field(error.get("field")), "message": str(error.get("message") or ""),
                      "code": str(error.get("errno") or "")})
    wrapper = body.get("errors") if isinstance(body.get("errors"), dict) else body
    details = wrapper.get("details")
    for detail in details if isinstance(details, list) else []:
        metadata = detail.get("metadata") or {}
        found.append({"field": error_field(metadata.get("field")),
                      "message": str(metadata.get("message") or detail.get("reason") or ""),
                      "code": str(detail.get("reason") or "")})
    if not found:
        message = wrapper.get("message") or body.get("error_description") or body.get("error")
        if message:
            code = body.get("error") or body.get("code") or ""
            found.append({"field": "", "message": str(message), "code": str(code)})
    return found


def missing_scopes(body) -> list[str]:
    """The scopes a 403 says the token lacks ("... Required: ['user:taxes:read']")."""
    text = " ".join(error["message"] for error in error_list(body))
    found = SCOPE_PATTERN.search(text)
    if not found:
        return []
    return [scope.strip(" '\"") for part in found.group(1).split(",") for scope in part.split() if scope.strip(" '\"")]


# --- reconciliation ----------------------------------------------------------------------------------------

def applied_payments(payments: list[dict]) -> list[dict]:
    """Live payments of an invoice, `{ledger_id, amount, date}`; payments from a credit note are
    allocations, left out."""
    applied = []
    for fb in payments:
        payment = payment_from_fb(fb)
        if payment["active"] and payment["credit_note"] is None and fb.get("type") != facts.CREDIT_PAYMENT_TYPE:
            applied.append({"ledger_id": payment["ledger_id"], "amount": payment["amount"], "date": payment["date"]})
    return applied
