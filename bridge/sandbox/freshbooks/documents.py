"""What invoices and credit notes share: lines, per-line taxes, totals, numbering, the client reference.

Facts §3.5: a line has `qty` (a number), `unit_cost` {amount, code} and up to two taxes whose `taxAmountN`
is a percentage string; `compounded_tax` computes tax 2 on the amount plus tax 1. Lines come back only with
`include[]=lines` (integrators: "without it the single GET omits line items") and a PUT carrying `lines`
replaces the whole set.
Numbering: new accounts start at 0000001 and a new document takes the last number used plus one
[V] freshbooks.com/support/how-do-i-change-the-starting-invoice-number.
Rounding (sandbox choice [U]): a line's amount is qty x unit_cost rounded half-up to the cent; each tax is
worked out per line on that rounded amount and rounded half-up to the cent; the document total is the sum
of line amounts and line taxes. Unit costs are kept to the cent ("to two decimal places", CData docs).
"""

from __future__ import annotations

import re
from decimal import Decimal

from . import errors, money
from .common import Kind, currency_field, date_field, integer, text
from .money import BadValue
from .store import DELETED

ZERO = Decimal("0")
FIRST_NUMBER = "0000001"  # "In new accounts, the invoice number is automatically 0000001" [V] support article
NUMBER_MAX = 30  # [U] FreshBooks' limit is unpublished
LINE_TYPES = (0, 1)  # 0 normal line, 1 rebilled expense [P] CData FreshBooks docs
ADDRESS_FROM_CLIENT = {"street": "p_street", "street2": "p_street2", "city": "p_city",
                       "province": "p_province", "code": "p_code", "country": "p_country"}
DOCUMENT_TEXT = ("notes", "terms", "language", "organization", "fname", "lname", "street", "street2", "city",
                 "province", "code", "country", "vat_name", "vat_number", "address", "description")


def next_number(last: str | None) -> str:
    """The number after `last`: its trailing digits plus one, same width ("INV-0099" -> "INV-0100")."""
    if not last:
        return FIRST_NUMBER
    match = re.search(r"(\d+)(\D*)$", last)
    if match is None:
        return f"{last}1"
    digits = match.group(1)
    return f"{last[:match.start(1)]}{str(int(digits) + 1).zfill(len(digits))}{match.group(2)}"


def _tax_percent(business, name: str | None) -> Decimal | None:
    """The percentage of a defined tax, by name (a line naming a tax without a percentage uses it)."""
    if not name:
        return None
    for tax in business.live("tax"):
        if tax.body["name"].casefold() == name.casefold():
            return tax.body["amount"]
    return None


def prepare_lines(business, lines, obj: str) -> list[dict]:
    """Check lines and store them with Decimal qty, unit cost and tax percentages."""
    if not isinstance(lines, list):
        raise errors.invalid(obj, "lines", None, "lines must be a list.")
    out = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if not isinstance(line, dict):
            raise errors.invalid(obj, where, None, f"{where} must be an object.")
        line_type = line.get("type", 0)
        if line_type not in LINE_TYPES or isinstance(line_type, bool):
            raise errors.invalid(obj, f"{where}.type", line_type, "type must be 0 or 1.")
        try:
            qty = money.to_decimal(line["qty"]) if line.get("qty") is not None else Decimal("1")
        except BadValue:
            raise errors.invalid(obj, f"{where}.qty", line.get("qty"), "qty must be a number.") from None
        try:
            cost = money.money_input(line["unit_cost"]) if line.get("unit_cost") is not None else ZERO
        except BadValue:
            raise errors.invalid(obj, f"{where}.unit_cost", None,
                                 "unit_cost must be {\"amount\": \"<decimal>\", \"code\": \"<currency>\"}.") from None
        stored = {"type": int(line_type), "qty": qty, "unit_cost": money.round_cents(cost),
                  "compounded_tax": bool(line.get("compounded_tax") or False)}
        for key in ("name", "description"):
            text(line, key, obj)
            stored[key] = line.get(key)
        if line.get("expenseid") is not None:
            stored["expenseid"] = line["expenseid"]
        for n in (1, 2):
            name = line.get(f"taxName{n}") or None
            if name is not None and not isinstance(name, str):
                raise errors.invalid(obj, f"{where}.taxName{n}", name, f"taxName{n} must be a string.")
            try:
                pct = money.percent(line.get(f"taxAmount{n}"))
            except BadValue as error:
                raise errors.invalid(obj, f"{where}.taxAmount{n}", line.get(f"taxAmount{n}"),
                                     f"taxAmount{n} must be a percentage: {error}") from None
            if pct is None and name is not None:
                pct = _tax_percent(business, name)  # [U] a named tax without a percentage takes the defined one
            stored[f"taxName{n}"] = name
            stored[f"taxAmount{n}"] = pct
        out.append(stored)
    return out


def line_figures(line: dict) -> tuple[Decimal, Decimal, Decimal]:
    """A line's amount, tax 1 and tax 2 (each rounded half-up to the cent)."""
    amount = money.round_cents(line["qty"] * line["unit_cost"])
    tax1 = money.round_cents(amount * line["taxAmount1"] / 100) if line.get("taxAmount1") else ZERO
    base2 = amount + tax1 if line.get("compounded_tax") else amount
    tax2 = money.round_cents(base2 * line["taxAmount2"] / 100) if line.get("taxAmount2") else ZERO
    return amount, tax1, tax2


def document_totals(body: dict) -> dict:
    """Subtotal, tax per tax name, tax total and amount of an invoice or credit note."""
    subtotal, taxes = ZERO, {}
    for line in body.get("lines") or []:
        amount, tax1, tax2 = line_figures(line)
        subtotal += amount
        for n, tax in ((1, tax1), (2, tax2)):
            if tax:
                name = line.get(f"taxName{n}") or f"Tax {n}"
                taxes[name] = taxes.get(name, ZERO) + tax
    tax_total = sum(taxes.values(), ZERO)
    return {"subtotal": subtotal, "taxes": taxes, "tax_total": tax_total, "amount": subtotal + tax_total}


def render_lines(body: dict, parent_key: str, parent_id: int, code: str, updated: float) -> list[dict]:
    """Lines as FreshBooks returns them with include[]=lines."""
    out = []
    for index, line in enumerate(body.get("lines") or []):
        amount, _, _ = line_figures(line)
        rendered = {"lineid": index + 1, parent_key: parent_id, "type": line["type"], "name": line.get("name"),
                    "description": line.get("description"), "qty": money.number_out(line["qty"]),
                    "unit_cost": money.money(line["unit_cost"], code), "amount": money.money(amount, code),
                    "compounded_tax": line.get("compounded_tax", False), "updated": money.stamp(updated)}
        for n in (1, 2):
            pct = line.get(f"taxAmount{n}")
            rendered[f"taxName{n}"] = line.get(f"taxName{n}")
            rendered[f"taxAmount{n}"] = None if pct is None else money.decimal_text(pct)
        if "expenseid" in line:
            rendered["expenseid"] = line["expenseid"]
        out.append(rendered)
    return out


def _client(writer, body: dict, field: str, obj: str):
    if body.get(field) is None:
        raise errors.required(obj, field)
    client_id = integer(body, field, obj)
    client = writer.business.usable("client", client_id)
    if client is None:
        # [U] a reference inside a body answers 422; a missing object in the URL answers 404.
        raise errors.not_found("client", field, client_id, status=422)
    return client


def _copy_client(body: dict, client) -> None:
    """Name and address default from the client, as FreshBooks fills them on a new document."""
    for key in ("organization", "fname", "lname", "vat_name", "vat_number"):
        if body.get(key) is None and client.body.get(key) is not None:
            body[key] = client.body[key]
    for key, client_key in ADDRESS_FROM_CLIENT.items():
        if body.get(key) is None and client.body.get(client_key) is not None:
            body[key] = client.body[client_key]


def paid_on(business, entity_index: dict, object_id: int, excluding: int | None = None) -> Decimal:
    """The sum of live payments filed under an invoice or credit note (optionally leaving one out)."""
    total = ZERO
    for payment_id in entity_index.get(object_id, []):
        payment = business.get("payment", payment_id)
        if payment is not None and payment.vis_state != DELETED and payment.id != excluding:
            total += payment.body["amount"]
    return total


class Documents(Kind):
    """What invoices and credit notes share."""

    newest_first = True  # "Results are ordered by descending invoice_id" [P] classic API docs
    includes = frozenset({"lines"})
    client_field = "customerid"
    number_field = "invoice_number"

    def _prepare_common(self, writer, body, record):
        business = writer.business
        client = _client(writer, body, self.client_field, self.single)
        date_field(body, "create_date", self.single, required=self.create_date_required)
        if body.get("create_date") is None:
            body["create_date"] = money.today(writer.now)
        currency_field(body, "currency_code", self.single)
        if body.get("currency_code") is None:
            body["currency_code"] = client.body.get("currency_code") or business.currency
        for key in DOCUMENT_TEXT:
            text(body, key, self.single)
        body.setdefault("language", "en")
        body["lines"] = prepare_lines(business, body.get("lines") or [], self.single)
        if record is None:
            _copy_client(body, client)
        return client

    def _number(self, writer, body, record) -> None:
        business = writer.business
        value = body.get(self.number_field)
        if value is None:
            if record is None:
                candidate = next_number(business.last_numbers.get(self.entity))
                while self._number_taken(business, candidate, None):
                    candidate = next_number(candidate)
                body[self.number_field] = candidate
            return
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > NUMBER_MAX:
            raise errors.invalid(self.single, self.number_field, value,
                                 f"{self.number_field} must be 1 to {NUMBER_MAX} characters.")
        body[self.number_field] = value.strip()
        if self._number_taken(business, body[self.number_field], record):
            raise errors.accounting(422, errors.ERRNO_DUPLICATE_NUMBER,
                                    "Invoice number already exists. Please choose another invoice number.",
                                    self.number_field, self.single, body[self.number_field])

    def _number_taken(self, business, number: str, record) -> bool:
        return False

    def after_create(self, writer, record):
        """Remember the number for the next automatic one."""
        writer.business.last_numbers[self.entity] = record.body[self.number_field]
