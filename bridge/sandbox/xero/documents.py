"""Invoices and credit notes: lines, tax, totals, numbering, status rules, balances and rendering.

Rules (developer.xero.com/documentation/api/invoices, facts §2.6, spec Invoice/CreditNote/LineItem):
- Type, Contact and LineItems are required; Date defaults to the organisation's today; an ACCREC
  invoice without DueDate falls due after the organisation's sales payment terms.
- Status on create: DRAFT (default), SUBMITTED or AUTHORISED; DRAFT/SUBMITTED can be DELETED;
  AUTHORISED can be VOIDED while no payment or credit is applied; PAID follows from payments.
- AUTHORISED needs an account on every line that carries an amount (its own AccountCode or its
  item's sales account); unknown accounts, tax types and item codes are validation errors naming them.
- InvoiceNumber (ACCREC) and CreditNoteNumber (ACCRECCREDIT) are unique and auto-generated
  (INV-0001, CN-0001) when omitted; ACCPAY numbers are the supplier's and need not be unique.
- CurrencyCode must be the base currency (the seeded organisations are not multicurrency).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from . import contacts, tax
from .errors import ItemInvalid
from .reference import account_by_code, default_unit_price, item_by_code, tax_rate
from .store import Context, Record, Tenant
from .wire import (CENT, RATE_6DP, UNIT_4DP, ZERO, date_string, money, ms_date, ms_datetime, new_id, parse_date,
                   quantize, to_decimal, utc_string)

STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")  # spec Invoice.Status
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
EDITABLE_STATUSES = ("DRAFT", "SUBMITTED")
NUMBER_MAX = 255  # spec Invoice.InvoiceNumber maxLength
NOT_MODIFIABLE = "{noun} not of valid status for modification"
LOCKED = "This document cannot be edited as it has a payment or credit note allocated to it."
LOCKED_FIELDS = ("Type", "Contact", "LineItems", "LineAmountTypes", "CurrencyCode")
NEEDS_ACCOUNT = "Account code must be specified for each line item on an approved document."
READ_ONLY_LINE_FIELDS = ("ValidationErrors", "Item", "RepeatingInvoiceID")


@dataclass(frozen=True)
class Kind:
    """What differs between invoices and credit notes."""

    entity: str
    id_field: str
    number_field: str
    collection: str
    category: str  # webhook event category
    types: tuple
    sales_type: str
    number_prefix: str
    noun: str


INVOICE = Kind("Invoice", "InvoiceID", "InvoiceNumber", "Invoices", "INVOICE", ("ACCREC", "ACCPAY"), "ACCREC",
               "INV-", "Invoice")
CREDIT_NOTE = Kind("CreditNote", "CreditNoteID", "CreditNoteNumber", "CreditNotes", "CREDITNOTE",
                   ("ACCRECCREDIT", "ACCPAYCREDIT"), "ACCRECCREDIT", "CN-", "Credit note")
KINDS = {INVOICE.entity: INVOICE, CREDIT_NOTE.entity: CREDIT_NOTE}


def is_sales(doc_type: str) -> bool:
    """ACCREC and ACCRECCREDIT are sales documents (revenue tax rates, customer contacts)."""
    return doc_type in ("ACCREC", "ACCRECCREDIT")


# Lookups and balances

def by_number(tenant: Tenant, kind: Kind, number) -> Record | None:
    """A non-deleted sales document by its number."""
    if not isinstance(number, str) or not number.strip():
        return None
    wanted = number.strip()
    return next((r for r in tenant.recall(kind.entity, kind.number_field, wanted)
                 if r.body.get(kind.number_field) == wanted and r.body["Type"] == kind.sales_type
                 and r.body["Status"] != "DELETED"), None)


def find(tenant: Tenant, kind: Kind, key: str) -> Record | None:
    """By GUID, else by number (GET /Invoices/{InvoiceID} also takes an InvoiceNumber)."""
    record = tenant.get(kind.entity, key)
    if record is not None:
        return record
    wanted = (key or "").strip()
    return by_number(tenant, kind, wanted) or next(
        (r for r in tenant.recall(kind.entity, kind.number_field, wanted) if r.body.get(kind.number_field) == wanted),
        None)


def _live(tenant: Tenant, entity: str, ids: list[str]) -> list[Record]:
    records = (tenant.get(entity, record_id) for record_id in ids)
    return [r for r in records if r is not None and r.body.get("Status") != "DELETED"]


def payments_of(tenant: Tenant, record: Record) -> list[Record]:
    """Live payments applied to (or refunding) a document."""
    return _live(tenant, "Payment", record.body.get("_payments", []))


def allocations_of(tenant: Tenant, record: Record) -> list[Record]:
    """Live credit allocations to an invoice, or from a credit note."""
    return _live(tenant, "Allocation", record.body.get("_allocations", []))


def amount_paid(tenant: Tenant, record: Record) -> Decimal:
    """Sum of live payments."""
    return money(sum((p.body["Amount"] for p in payments_of(tenant, record)), ZERO))


def amount_allocated(tenant: Tenant, record: Record) -> Decimal:
    """Sum of live allocations (credited to an invoice, or used from a credit note)."""
    return money(sum((a.body["Amount"] for a in allocations_of(tenant, record)), ZERO))


def outstanding(tenant: Tenant, record: Record) -> Decimal:
    """AmountDue of an invoice, RemainingCredit of a credit note; zero once voided or deleted."""
    if record.body["Status"] in ("VOIDED", "DELETED"):
        return money(ZERO)
    return money(record.body["Total"] - amount_paid(tenant, record) - amount_allocated(tenant, record))


def has_money_applied(tenant: Tenant, record: Record) -> bool:
    """Payments or allocations lock a document's amounts."""
    return bool(payments_of(tenant, record) or allocations_of(tenant, record))


def settle(ctx: Context, kind: Kind, record: Record) -> None:
    """AUTHORISED becomes PAID when nothing is outstanding, and back when a payment goes."""
    status = record.body["Status"]
    due = outstanding(ctx.tenant, record)
    if status == "AUTHORISED" and due <= 0:
        ctx.touch(record)
        record.body["Status"] = "PAID"
        dates = [p.body["Date"] for p in payments_of(ctx.tenant, record)]
        dates += [a.body["Date"] for a in allocations_of(ctx.tenant, record)]
        record.body["FullyPaidOnDate"] = max(dates) if dates else record.body["Date"]
        ctx.change(kind.category, record.id, "UPDATE")
    elif status == "PAID" and due > 0:
        ctx.touch(record)
        record.body["Status"] = "AUTHORISED"
        record.body.pop("FullyPaidOnDate", None)
        ctx.change(kind.category, record.id, "UPDATE")


def next_number(tenant: Tenant, kind: Kind) -> str:
    """The next free automatic number: INV-0001, INV-0002... (CN-0001 for credit notes)."""
    counter = tenant.counters.get(kind.entity, 0)
    while True:
        counter += 1
        number = f"{kind.number_prefix}{counter:04d}"
        if by_number(tenant, kind, number) is None:
            tenant.counters[kind.entity] = counter
            return number


# Lines

def _number(raw: dict, key: str, position: int, errors: list[str]) -> Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        return to_decimal(value)
    except ValueError:
        errors.append(f"Line item {position}: {key} must be a number, not {value!r}")
        return None


def _line(ctx: Context, doc_type: str, line_amount_types: str, raw, position: int, known_ids: set,
          errors: list[str]) -> dict | None:
    """One stored line from what the client sent (amounts computed, references checked)."""
    if not isinstance(raw, dict):
        errors.append(f"Line item {position} must be a JSON object")
        return None
    tenant = ctx.tenant
    sales = is_sales(doc_type)
    before = len(errors)
    quantity, unit, amount = (_number(raw, key, position, errors) for key in ("Quantity", "UnitAmount",
                                                                              "LineAmount"))
    discount_rate = _number(raw, "DiscountRate", position, errors)
    discount_amount = _number(raw, "DiscountAmount", position, errors)
    tax_override = _number(raw, "TaxAmount", position, errors)
    line_id = raw.get("LineItemID")
    out: dict = {"LineItemID": line_id.lower() if isinstance(line_id, str) and line_id.lower() in known_ids
                 else new_id()}
    item_code = raw.get("ItemCode")
    if item_code is None and isinstance(raw.get("Item"), dict):
        item_code = raw["Item"].get("Code")
    item = None
    details: dict = {}
    if item_code not in (None, ""):
        item = item_by_code(tenant, item_code)
        if item is None:
            errors.append(f"Item code '{item_code}' is not valid.")
        else:
            out["ItemCode"] = item.body["Code"]
            details = item.body.get("SalesDetails" if sales else "PurchaseDetails") or {}
    description = raw.get("Description")
    if description is None and item is not None:
        description = item.body.get("Description" if sales else "PurchaseDescription") or item.body.get("Name")
    if description is not None:
        out["Description"] = str(description)
    if item is not None and unit is None and amount is None:
        unit = default_unit_price(item, sales)
    unit_step = UNIT_4DP if ctx.unitdp == 4 else CENT
    if unit is not None:
        unit = quantize(unit, unit_step)
    if quantity is not None:
        quantity = quantize(quantity, UNIT_4DP)
    if quantity is None and unit is None and amount is None:
        pass  # a description-only line
    elif quantity is None and unit is None:
        quantity, unit = Decimal("1.0000"), quantize(amount, unit_step)
    elif quantity is None:
        quantity = quantize(amount / unit, UNIT_4DP) if amount is not None and unit else Decimal("1.0000")
    elif unit is None:
        unit = quantize(amount / quantity, unit_step) if amount is not None and quantity else quantize(ZERO,
                                                                                                       unit_step)
    if discount_rate is not None or discount_amount is not None:
        if doc_type != "ACCREC":
            # spec LineItem.DiscountRate: "only supported on ACCREC invoices"
            errors.append("Discounts are only supported on sales invoices (ACCREC).")
        elif discount_rate is not None and discount_amount is not None:
            errors.append(f"Line item {position}: send either DiscountRate or DiscountAmount, not both.")
        elif discount_rate is not None and not ZERO <= discount_rate <= tax.HUNDRED:
            errors.append(f"The discount rate '{money(discount_rate)}' is invalid.")
        elif discount_amount is not None and quantity is not None and (
                discount_amount < 0 or discount_amount > abs(money(quantity * unit))):
            errors.append("Discount must not be greater than the line total.")
    if quantity is None:
        expected = money(ZERO)
    else:
        expected = tax.line_amount(quantity, unit, discount_rate if doc_type == "ACCREC" else None,
                                   discount_amount if doc_type == "ACCREC" else None)
    if amount is not None and quantity is not None and money(amount) != expected and (
            raw.get("Quantity") is not None and raw.get("UnitAmount") is not None):
        errors.append(f"The line total {money(amount)} does not match the expected line total {expected}")
    account_code = raw.get("AccountCode") or None
    if account_code is None and raw.get("AccountID"):
        by_id = tenant.get("Account", raw["AccountID"])
        account_code = by_id.body["Code"] if by_id is not None else None
        if by_id is None:
            errors.append(f"Account with AccountID '{raw['AccountID']}' is not valid for this document.")
    account_code = account_code or details.get("AccountCode")
    account = None
    if account_code is not None:
        account = account_by_code(tenant, account_code)
        if account is None or account.body["Type"] == "BANK":
            errors.append(f"Account code '{account_code}' is not a valid code for this document.")
            account = None
        out["AccountCode"] = str(account_code)
        if account is not None:
            out["AccountID"] = account.id
    tax_type = raw.get("TaxType") or None
    if tax_type is None and line_amount_types == "NoTax":
        tax_type = tenant.no_tax_type
    elif tax_type is None:
        tax_type = details.get("TaxType") or (account.body.get("TaxType") if account else None)
    rate = ZERO
    if tax_type is not None:
        record = tax_rate(tenant, tax_type)
        if record is None or not record.body["CanApplyToRevenue" if sales else "CanApplyToExpenses"]:
            errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
                          "transaction.")
        else:
            rate = record.body["EffectiveRate"]
        out["TaxType"] = tax_type
    if len(errors) > before:
        return None
    out["Quantity"] = quantity
    out["UnitAmount"] = unit
    out["LineAmount"] = expected
    if tax_override is not None and line_amount_types != "NoTax":
        out["TaxAmount"] = money(tax_override)  # "can be overriden if the calculated TaxAmount is not correct"
    else:
        out["TaxAmount"] = tax.line_tax(expected, rate, line_amount_types)
    if doc_type == "ACCREC" and discount_rate is not None:
        out["DiscountRate"] = discount_rate
    if doc_type == "ACCREC" and discount_amount is not None:
        out["DiscountAmount"] = money(discount_amount)
    out["Tracking"] = copy.deepcopy(raw.get("Tracking")) if isinstance(raw.get("Tracking"), list) else []
    return out


def _lines(ctx: Context, doc_type: str, line_amount_types: str, raw_lines, known_ids: set,
           errors: list[str]) -> list[dict]:
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.append("At least one line item must be specified.")
        return []
    lines = []
    for position, raw in enumerate(raw_lines, start=1):
        line = _line(ctx, doc_type, line_amount_types, raw, position, known_ids, errors)
        if line is not None:
            lines.append(line)
    return lines


def _stored_as_raw(line: dict) -> dict:
    """A stored line as input again, without its computed amounts (LineAmountTypes changed)."""
    raw = {key: value for key, value in line.items() if key not in ("LineAmount", "TaxAmount", "AccountID")}
    return {key: value for key, value in raw.items() if value is not None}


# Create and update

def _date(raw: dict, key: str, errors: list[str]) -> str | None:
    if raw.get(key) in (None, ""):
        return None
    try:
        return parse_date(raw[key])
    except ValueError:
        errors.append(f"{key} '{raw[key]}' is not a valid date (use YYYY-MM-DD)")
        return None


def _build(ctx: Context, kind: Kind, base: dict, raw: dict, status: str, record: Record | None) -> dict:
    """The stored body of a document from its current body and the fields sent; ItemInvalid lists problems."""
    tenant = ctx.tenant
    errors: list[str] = []
    body = copy.deepcopy(base)
    doc_type = raw.get("Type") or base.get("Type")
    if doc_type not in kind.types:
        errors.append(f"{kind.noun} Type must be specified" if not doc_type
                      else f"'{doc_type}' is not a valid {kind.noun.lower()} type")
        doc_type = kind.sales_type
    elif base.get("Type") and doc_type != base["Type"]:
        errors.append(f"The Type of an existing {kind.noun.lower()} cannot be changed")
    body["Type"] = doc_type
    if "Contact" in raw or "_contact" not in base:
        contact = contacts.for_document(ctx, raw.get("Contact"), errors)
        if contact is not None:
            body["_contact"] = contact.id
    for key in ("Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"):
        if key in raw:
            value = _date(raw, key, errors)
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
    body.setdefault("Date", tenant.today(ctx.now))
    if kind is INVOICE and doc_type == "ACCREC" and not body.get("DueDate"):
        terms = (tenant.organisation.get("PaymentTerms") or {}).get("Sales") or {}
        body["DueDate"] = (date.fromisoformat(body["Date"]) + timedelta(days=int(terms.get("Day", 0)))).isoformat()
    line_amount_types = raw.get("LineAmountTypes") or base.get("LineAmountTypes") or tax.DEFAULT_LINE_AMOUNT_TYPES
    if line_amount_types not in tax.LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not valid (Exclusive, Inclusive or NoTax)")
        line_amount_types = tax.DEFAULT_LINE_AMOUNT_TYPES
    body["LineAmountTypes"] = line_amount_types
    currency = raw.get("CurrencyCode") or base.get("CurrencyCode") or tenant.base_currency
    if currency != tenant.base_currency:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    body["CurrencyCode"] = tenant.base_currency
    body["CurrencyRate"] = Decimal("1")
    for key in ("Reference", "Url", "BrandingThemeID"):
        if key in raw:
            if raw[key] is None:
                body.pop(key, None)
            elif not isinstance(raw[key], str):
                errors.append(f"{key} must be text")
            else:
                body[key] = raw[key]
    if isinstance(raw.get("SentToContact"), bool):
        body["SentToContact"] = raw["SentToContact"]
    number = raw.get(kind.number_field)
    if number not in (None, ""):
        if not isinstance(number, str):
            errors.append(f"{kind.number_field} must be text")
        elif len(number.strip()) > NUMBER_MAX:
            errors.append(f"{kind.number_field} must not be more than {NUMBER_MAX} characters long")
        else:
            number = number.strip()
            other = by_number(tenant, kind, number) if doc_type == kind.sales_type else None
            if other is not None and other is not record:
                errors.append(f"{'Invoice' if kind is INVOICE else 'Credit Note'} # must be unique.")
            body[kind.number_field] = number
    if "LineItems" in raw:
        known = {line["LineItemID"] for line in base.get("LineItems", [])}
        body["LineItems"] = _lines(ctx, doc_type, line_amount_types, raw["LineItems"], known, errors)
    elif line_amount_types != base.get("LineAmountTypes") or doc_type != base.get("Type"):
        known = {line["LineItemID"] for line in base.get("LineItems", [])}
        body["LineItems"] = _lines(ctx, doc_type, line_amount_types,
                                   [_stored_as_raw(line) for line in base.get("LineItems", [])], known, errors)
    if status == "AUTHORISED" and any(line.get("AccountCode") is None and line.get("LineAmount")
                                      for line in body.get("LineItems", [])):
        errors.append(NEEDS_ACCOUNT)
    body["Status"] = status
    body.update(tax.totals(body.get("LineItems", []), line_amount_types))
    if body["Total"] < 0:
        errors.append(f"The {kind.noun.lower()} total must not be negative.")
    if errors:
        raise ItemInvalid(errors)
    if not body.get(kind.number_field) and doc_type == kind.sales_type:
        body[kind.number_field] = next_number(tenant, kind)
    body.setdefault("_payments", [])
    body.setdefault("_allocations", [])
    body.setdefault("SentToContact", False)
    contact = tenant.get("Contact", body["_contact"])
    if contact is not None:
        contacts.mark_role(ctx, contact, is_sales(doc_type))
    return body


def write(ctx: Context, kind: Kind, raw, create_only: bool, path_key: str | None = None) -> Record:
    """PUT creates; POST updates the document named by id (or sales number), else creates."""
    if not isinstance(raw, dict):
        raise ItemInvalid(f"{kind.noun} must be a JSON object")
    tenant = ctx.tenant
    existing = None
    if path_key is not None:
        existing = find(tenant, kind, path_key)
    elif not create_only:
        if raw.get(kind.id_field):
            existing = tenant.get(kind.entity, raw[kind.id_field])
            if existing is None:
                raise ItemInvalid(f"{kind.noun} with {kind.id_field} '{raw[kind.id_field]}' could not be found")
        elif raw.get(kind.number_field) and (raw.get("Type") or kind.sales_type) == kind.sales_type:
            existing = by_number(tenant, kind, raw[kind.number_field])
    if existing is None:
        return create(ctx, kind, raw)
    return update(ctx, kind, existing, raw)


def create(ctx: Context, kind: Kind, raw: dict) -> Record:
    """A new document."""
    status = raw.get("Status") or "DRAFT"
    if status not in CREATE_STATUSES:
        raise ItemInvalid(f"{kind.noun} status '{status}' is not valid for a new {kind.noun.lower()} "
                          f"(use DRAFT, SUBMITTED or AUTHORISED)")
    body = _build(ctx, kind, {}, raw, status, None)
    record = ctx.add(kind.entity, body)
    ctx.tenant.remember(kind.number_field, body.get(kind.number_field), record.id)
    ctx.change(kind.category, record.id, "CREATE")
    settle(ctx, kind, record)
    return record


def update(ctx: Context, kind: Kind, record: Record, raw: dict) -> Record:
    """Edit, approve, void or delete an existing document."""
    tenant = ctx.tenant
    current = record.body["Status"]
    target = raw.get("Status") or current
    refused = ItemInvalid(NOT_MODIFIABLE.format(noun=kind.noun))
    if target not in STATUSES:
        raise ItemInvalid(f"{kind.noun} status '{target}' is not valid")
    if current in ("VOIDED", "DELETED"):
        raise refused
    if target in ("DELETED", "VOIDED"):
        if target == "DELETED" and current not in EDITABLE_STATUSES:
            raise refused
        if target == "VOIDED" and current not in ("AUTHORISED", "PAID"):
            raise refused
        if has_money_applied(tenant, record):
            raise ItemInvalid(LOCKED)
        ctx.touch(record)
        record.body["Status"] = target
        ctx.change(kind.category, record.id, "UPDATE")
        return record
    if current == "PAID":
        raise ItemInvalid(LOCKED)
    if target == "PAID" or (current == "AUTHORISED" and target in EDITABLE_STATUSES):
        raise refused
    body = _build(ctx, kind, record.body, raw, target, record)
    if has_money_applied(tenant, record) and any(key in raw for key in LOCKED_FIELDS):
        # Amounts are locked once money is applied; sending them again unchanged is not an edit.
        if _amounts(body) != _amounts(record.body):
            raise ItemInvalid(LOCKED)
        body["LineItems"] = copy.deepcopy(record.body["LineItems"])
    ctx.touch(record)
    record.body = body
    tenant.remember(kind.number_field, body.get(kind.number_field), record.id)
    ctx.change(kind.category, record.id, "UPDATE")
    settle(ctx, kind, record)
    return record


def _amounts(body: dict) -> tuple:
    """What a payment or allocation locks: contact, type, currency, tax mode and every line's amounts."""
    lines = tuple((line.get("Description"), line.get("Quantity"), line.get("UnitAmount"), line.get("ItemCode"),
                   line.get("AccountCode"), line.get("TaxType"), line["LineAmount"], line["TaxAmount"],
                   line.get("DiscountRate"), line.get("DiscountAmount")) for line in body.get("LineItems", []))
    return body["Type"], body["_contact"], body["CurrencyCode"], body["LineAmountTypes"], body["Total"], lines


# Rendering

def _line_out(tenant: Tenant, line: dict, unitdp: int) -> dict:
    out = {"LineItemID": line["LineItemID"]}
    if line.get("Description") is not None:
        out["Description"] = line["Description"]
    if line.get("Quantity") is not None:
        out["Quantity"] = quantize(line["Quantity"], UNIT_4DP)
    if line.get("UnitAmount") is not None:
        out["UnitAmount"] = quantize(line["UnitAmount"], UNIT_4DP if unitdp == 4 else CENT)
    if line.get("ItemCode"):
        out["ItemCode"] = line["ItemCode"]
        item = item_by_code(tenant, line["ItemCode"])
        if item is not None:
            out["Item"] = {"ItemID": item.id, "Name": item.body.get("Name", ""), "Code": item.body["Code"]}
    for key in ("AccountCode", "AccountID", "TaxType"):
        if line.get(key) is not None:
            out[key] = line[key]
    out["TaxAmount"] = money(line["TaxAmount"])
    out["LineAmount"] = money(line["LineAmount"])
    if line.get("DiscountRate") is not None:
        out["DiscountRate"] = money(line["DiscountRate"])
    if line.get("DiscountAmount") is not None:
        out["DiscountAmount"] = money(line["DiscountAmount"])
    out["Tracking"] = copy.deepcopy(line.get("Tracking") or [])
    out["ValidationErrors"] = []
    return out


def _payment_refs(tenant: Tenant, record: Record) -> list[dict]:
    return [{"PaymentID": p.id, "Date": ms_date(p.body["Date"]), "Amount": money(p.body["Amount"]),
             "Reference": p.body.get("Reference", ""), "CurrencyRate": quantize(Decimal("1"), RATE_6DP),
             "HasAccount": True, "HasValidationErrors": False} for p in payments_of(tenant, record)]


def render(tenant: Tenant, kind: Kind, record: Record, unitdp: int = 2, lines: bool = True,
           summary: bool = False) -> dict:
    """An Invoice or CreditNote as Xero returns it (lines only when asked for)."""
    body = record.body
    out: dict = {"Type": body["Type"], kind.id_field: record.id}
    if body.get(kind.number_field):
        out[kind.number_field] = body[kind.number_field]
    out["Reference"] = body.get("Reference", "")
    due = outstanding(tenant, record)
    if not summary:
        out["Payments"] = _payment_refs(tenant, record)
        if kind is INVOICE:
            out["CreditNotes"] = _credit_refs(tenant, record)
        else:
            out["Allocations"] = [render_allocation(tenant, a, include_credit=False)
                                  for a in allocations_of(tenant, record)]
        out["Prepayments"] = []
        out["Overpayments"] = []
    if kind is INVOICE:
        out.update({"AmountDue": due, "AmountPaid": amount_paid(tenant, record),
                    "AmountCredited": amount_allocated(tenant, record)})
    else:
        out["RemainingCredit"] = due
    out.update({"SentToContact": bool(body.get("SentToContact")),
                "CurrencyRate": quantize(body.get("CurrencyRate", Decimal("1")), RATE_6DP),
                "IsDiscounted": any(line.get("DiscountRate") or line.get("DiscountAmount")
                                    for line in body.get("LineItems", [])),
                "HasAttachments": False, "HasErrors": False})
    contact = contacts.reference(tenant, body["_contact"])
    out["Contact"] = {"ContactID": contact["ContactID"], "Name": contact.get("Name", "")} if summary else contact
    out["DateString"] = date_string(body["Date"])
    out["Date"] = ms_date(body["Date"])
    if body.get("DueDate"):
        out["DueDateString"] = date_string(body["DueDate"])
        out["DueDate"] = ms_date(body["DueDate"])
    for key in ("ExpectedPaymentDate", "PlannedPaymentDate"):
        if body.get(key):
            out[key] = ms_date(body[key])
    out["Status"] = body["Status"]
    out["LineAmountTypes"] = body["LineAmountTypes"]
    if lines and not summary:
        out["LineItems"] = [_line_out(tenant, line, unitdp) for line in body.get("LineItems", [])]
    out.update({"SubTotal": body["SubTotal"], "TotalTax": body["TotalTax"], "Total": body["Total"]})
    if body.get("TotalDiscount"):
        out["TotalDiscount"] = body["TotalDiscount"]
    out["UpdatedDateUTC"] = ms_datetime(record.updated)
    out["UpdatedDateUTCString"] = utc_string(record.updated)
    out["CurrencyCode"] = body["CurrencyCode"]
    for key in ("Url", "BrandingThemeID"):
        if body.get(key):
            out[key] = body[key]
    if body.get("FullyPaidOnDate") and body["Status"] == "PAID":
        out["FullyPaidOnDate"] = ms_date(body["FullyPaidOnDate"])
    return out


def _credit_refs(tenant: Tenant, invoice: Record) -> list[dict]:
    refs = []
    for allocation in allocations_of(tenant, invoice):
        credit = tenant.get("CreditNote", allocation.body["_credit"])
        if credit is None:
            continue
        refs.append({"CreditNoteID": credit.id, "CreditNoteNumber": credit.body.get("CreditNoteNumber", ""),
                     "ID": credit.id, "AppliedAmount": money(allocation.body["Amount"]),
                     "DateString": date_string(allocation.body["Date"]), "Date": ms_date(allocation.body["Date"]),
                     "Total": credit.body["Total"], "LineItems": [], "HasErrors": False})
    return refs


def summary_ref(tenant: Tenant, kind: Kind, record: Record) -> dict:
    """A document as payments and allocations embed it: numbers and balances, no lines."""
    out = render(tenant, kind, record, lines=False, summary=True)
    out["Contact"] = {"ContactID": record.body["_contact"], "Name": out["Contact"].get("Name", "")}
    out["LineItems"] = []
    return out


def render_allocation(tenant: Tenant, allocation: Record, include_credit: bool = True) -> dict:
    """An Allocation of credit to an invoice."""
    out = {"AllocationID": allocation.id, "Amount": money(allocation.body["Amount"]),
           "Date": ms_date(allocation.body["Date"])}
    invoice = tenant.get("Invoice", allocation.body["_invoice"])
    if invoice is not None:
        out["Invoice"] = summary_ref(tenant, INVOICE, invoice)
    if include_credit:
        credit = tenant.get("CreditNote", allocation.body["_credit"])
        if credit is not None:
            out["CreditNote"] = summary_ref(tenant, CREDIT_NOTE, credit)
    out["IsDeleted"] = allocation.body.get("Status") == "DELETED"
    out["StatusAttributeString"] = "OK"
    out["ValidationErrors"] = []
    return out
