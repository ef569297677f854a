"""Xero <-> normalized objects: pure functions, Decimal throughout, no HTTP."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bridge.errors import LedgerRejected
from bridge.ledgers.base import money
from bridge.ledgers.xero import facts

HUNDRED = Decimal(100)
SOURCE_REFERENCE = "Invoice Bridge: {}"
"""Reference of every invoice and credit note we write (and of payments without their own
reference): the way back from Xero to the source object."""
SOURCE_REFERENCE_PATTERN = re.compile(r"^Invoice Bridge: (.+)$", re.S)
HASH_SEPARATOR = "~"
HASH_DIGITS = 16
"""A value too long for a Xero field becomes its head, "~" and 16 hex digits (64 bits) of its SHA-256."""
HASHED_TAIL = re.compile(rf"{HASH_SEPARATOR}[0-9a-f]{{{HASH_DIGITS}}}$")
MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
"""Xero's MS-JSON dates: "/Date(1552347991000+0000)/", milliseconds since the epoch in UTC."""
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MEMO_WARNING = "Xero invoices have no memo field; the memo was not sent"
CREDIT_DISCOUNT_WARNING = "lines[{}]: {}% discount folded into the unit price (Xero credit notes take no discounts)"
ADDRESS_FIELDS = (("AddressLine1", "line1", facts.ADDRESS_LINE_MAX), ("AddressLine2", "line2", facts.ADDRESS_LINE_MAX),
                  ("City", "city", facts.CITY_MAX), ("Region", "region", facts.REGION_MAX),
                  ("PostalCode", "postal_code", facts.POSTAL_CODE_MAX), ("Country", "country", facts.COUNTRY_MAX))
"""Xero Address key, our address key, Xero's length limit."""


# --- values --------------------------------------------------------------------------------------

def fit(value: str, limit: int) -> str:
    """`value` when it has at most `limit` characters, else a stable shortened form of exactly `limit`.

    The shortened form keeps the head (readable in Xero) and ends with "~" plus 16 hex digits of the
    SHA-256 of the whole value, so two long values sharing a head stay distinct and the same value
    always shortens the same way (it can be looked up again).
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:HASH_DIGITS]
    return value[:limit - HASH_DIGITS - len(HASH_SEPARATOR)] + HASH_SEPARATOR + digest


def is_shortened(value: str | None, limit: int) -> bool:
    """True when `value` looks like what `fit` makes of a longer value."""
    return bool(value) and len(value) == limit and bool(HASHED_TAIL.search(value))


def contact_number(external_id: str) -> str:
    """The ContactNumber ("Contact Code", at most 50 characters) that anchors a customer's external_id."""
    return fit(str(external_id), facts.CONTACT_NUMBER_MAX)


def back_reference(external_id: str) -> str:
    """The Reference that names the source object ("Invoice Bridge: <external_id>", at most 255)."""
    return fit(SOURCE_REFERENCE.format(external_id), facts.REFERENCE_MAX)


def source_external_id(reference: str | None) -> str | None:
    """The external_id in a Reference we wrote; None for other references or shortened ones."""
    found = SOURCE_REFERENCE_PATTERN.match(reference or "")
    if not found or is_shortened(reference, facts.REFERENCE_MAX):
        return None
    return found.group(1).strip()


def decimal_places(value: Decimal) -> int:
    """Significant decimals of `value` (trailing zeros do not count)."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _number(value) -> str:
    """A Decimal as plain text without trailing zeros ("10", "12.5")."""
    return format(Decimal(value).normalize(), "f")


def _decimal_or_none(value) -> Decimal | None:
    """A JSON number (parsed as Decimal or int) as Decimal; None stays None."""
    return None if value is None else money(value)


def is_uuid(value) -> bool:
    """True for a Xero identifier (a GUID)."""
    return bool(UUID.match(str(value or "")))


def iso(value) -> str | None:
    """A date (or ISO string) as YYYY-MM-DD, the form Xero takes."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def parse_datetime(value) -> datetime | None:
    """A Xero timestamp ("/Date(1552347991000+0000)/" or ISO text) as an aware UTC datetime."""
    if not value:
        return None
    found = MS_DATE.match(str(value))
    if found:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(found.group(1)))
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_date(value) -> date | None:
    """A Xero date ("/Date(1552262400000+0000)/", midnight UTC, or ISO text) as a date."""
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def _error(field: str, code: str, message: str) -> dict:
    """One field error in the bridge's shape."""
    return {"field": field, "message": message, "code": code}


def _too_long(value: str | None, limit: int, field: str, errors: list) -> None:
    """Add an error when a text is over Xero's limit."""
    if value and len(value) > limit:
        errors.append(_error(field, "too_long", f"At most {limit} characters in Xero"))


# --- contacts --------------------------------------------------------------------------------------

def contact_payload(customer: dict, *, with_number: bool = True) -> dict:
    """A normalized customer as a Xero Contact; LedgerRejected names the fields Xero cannot take.

    `with_number=False` leaves ContactNumber out (an update never rewrites a contact's code).
    """
    errors: list[dict] = []
    name = (customer.get("name") or "").strip()
    if not name:
        errors.append(_error("customer.name", "required", "Required: a Xero contact needs a name"))
    _too_long(name, facts.CONTACT_NAME_MAX, "customer.name", errors)
    body: dict = {"Name": name}
    if with_number and customer.get("external_id"):
        body["ContactNumber"] = contact_number(customer["external_id"])
    if customer.get("email"):
        _too_long(customer["email"], facts.EMAIL_MAX, "customer.email", errors)
        body["EmailAddress"] = customer["email"]
    address = customer.get("address") or {}
    lines = {}
    for xero_key, ours, limit in ADDRESS_FIELDS:
        if address.get(ours):
            _too_long(address[ours], limit, f"customer.address.{ours}", errors)
            lines[xero_key] = address[ours]
    if lines:
        body["Addresses"] = [{"AddressType": facts.ADDRESS_POBOX, **lines}]
    if customer.get("phone"):
        _too_long(customer["phone"], facts.PHONE_NUMBER_MAX, "customer.phone", errors)
        body["Phones"] = [{"PhoneType": facts.PHONE_DEFAULT, "PhoneNumber": customer["phone"]}]
    if customer.get("tax_number"):
        _too_long(customer["tax_number"], facts.TAX_NUMBER_MAX, "customer.tax_number", errors)
        body["TaxNumber"] = customer["tax_number"]
    if customer.get("currency"):
        body["DefaultCurrency"] = customer["currency"]
    if errors:
        raise LedgerRejected("Xero cannot take this customer as it is", errors=errors)
    return body


def _address_from_xero(contact: dict) -> dict | None:
    """The postal (POBOX) address, else the street address, normalized; None when both are empty."""
    by_type = {address.get("AddressType"): address for address in contact.get("Addresses") or []}
    for kind in (facts.ADDRESS_POBOX, facts.ADDRESS_STREET):
        found = {ours: by_type.get(kind, {}).get(xero_key) or None for xero_key, ours, _ in ADDRESS_FIELDS}
        if any(found.values()):
            return found
    return None


def _phone_from_xero(contact: dict) -> str | None:
    """The DEFAULT phone (country code, area code and number joined), else the first non-empty one."""
    phones = sorted(contact.get("Phones") or [], key=lambda phone: phone.get("PhoneType") != facts.PHONE_DEFAULT)
    for phone in phones:
        if phone.get("PhoneNumber"):
            parts = (phone.get("PhoneCountryCode"), phone.get("PhoneAreaCode"), phone.get("PhoneNumber"))
            return " ".join(part for part in parts if part)
    return None


def customer_from_xero(contact: dict) -> dict:
    """A Xero Contact as a normalized customer."""
    number = contact.get("ContactNumber") or None
    receivable = (contact.get("Balances") or {}).get("AccountsReceivable") or {}
    return {
        "ledger_id": contact.get("ContactID"),
        "external_id": None if is_shortened(number, facts.CONTACT_NUMBER_MAX) else number,
        "contact_number": number,
        "name": contact.get("Name"),
        "email": contact.get("EmailAddress") or None,
        "phone": _phone_from_xero(contact),
        "address": _address_from_xero(contact),
        "tax_number": contact.get("TaxNumber") or None,
        "currency": contact.get("DefaultCurrency") or None,
        "balance": _decimal_or_none(receivable.get("Outstanding")),
        "active": contact.get("ContactStatus", "ACTIVE") == "ACTIVE",
    }


# --- invoices and credit notes ---------------------------------------------------------------------

def line_amount_types(document: dict, mapping: dict | None) -> str:
    """Exclusive or Inclusive from amounts_include_tax; NoTax when mapping.xero.line_amount_types says so."""
    wanted = str(((mapping or {}).get("xero") or {}).get("line_amount_types") or "").replace(" ", "").lower()
    if wanted == facts.NO_TAX.lower():
        return facts.NO_TAX
    return facts.INCLUSIVE if document.get("amounts_include_tax") else facts.EXCLUSIVE


def invoice_payload(invoice: dict, contact_id: str, mapping: dict | None,
                    invoice_id: str | None = None) -> tuple[dict, list[str]]:
    """A normalized invoice as a Xero ACCREC Invoice, with warnings; LedgerRejected names bad fields."""
    warnings: list[str] = []
    errors: list[dict] = []
    body = {"Type": facts.INVOICE_TYPE}
    if invoice_id:
        body["InvoiceID"] = invoice_id
    body.update(_header(invoice, contact_id, "InvoiceNumber", errors))
    body["DueDate"] = iso(invoice.get("due_date") or invoice.get("issue_date"))
    body["Status"] = facts.DRAFT if invoice.get("status") == "draft" else facts.AUTHORISED
    body.update(_lines(invoice, mapping or {}, warnings, errors, discounts=True))
    if invoice.get("memo"):
        warnings.append(MEMO_WARNING)
    if errors:
        raise LedgerRejected("Xero cannot take this invoice as it is", errors=errors)
    return body, warnings


def credit_note_payload(credit_note: dict, contact_id: str, mapping: dict | None,
                        credit_note_id: str | None = None) -> tuple[dict, list[str]]:
    """A normalized credit note as an AUTHORISED Xero ACCRECCREDIT (only those can be allocated)."""
    warnings: list[str] = []
    errors: list[dict] = []
    body = {"Type": facts.CREDIT_NOTE_TYPE}
    if credit_note_id:
        body["CreditNoteID"] = credit_note_id
    body.update(_header(credit_note, contact_id, "CreditNoteNumber", errors))
    body["Status"] = facts.AUTHORISED
    body.update(_lines(credit_note, mapping or {}, warnings, errors, discounts=False))
    if credit_note.get("memo"):
        warnings.append(MEMO_WARNING.replace("invoices", "credit notes"))
    if errors:
        raise LedgerRejected("Xero cannot take this credit note as it is", errors=errors)
    return body, warnings


def _header(document: dict, contact_id: str, number_key: str, errors: list) -> dict:
    """Fields shared by invoices and credit notes: contact, date, number, reference, currency."""
    body = {"Contact": {"ContactID": contact_id}, "Date": iso(document.get("issue_date"))}
    number = document.get("number")
    if number:
        _too_long(number, facts.INVOICE_NUMBER_MAX, "number", errors)
        body[number_key] = number
    if document.get("external_id"):
        body["Reference"] = back_reference(document["external_id"])
    if document.get("currency"):
        body["CurrencyCode"] = document["currency"]
        if document.get("exchange_rate") is not None:
            body["CurrencyRate"] = Decimal(document["exchange_rate"])
    return body


def _lines(document: dict, mapping: dict, warnings: list, errors: list, *, discounts: bool) -> dict:
    """LineAmountTypes and LineItems (account and tax code per line, from the mapping)."""
    amount_types = line_amount_types(document, mapping)
    if amount_types == facts.NO_TAX and document.get("amounts_include_tax"):
        warnings.append("mapping.xero.line_amount_types is NoTax: amounts written without tax")
    if amount_types == facts.NO_TAX and any(line.get("tax_category") for line in document.get("lines") or []):
        warnings.append("mapping.xero.line_amount_types is NoTax: tax categories ignored")
    rows = []
    for index, line in enumerate(document.get("lines") or []):
        rows.append(_line(index, line, mapping, amount_types, discounts, warnings, errors))
    return {"LineAmountTypes": amount_types, "LineItems": rows}


def _line(index: int, line: dict, mapping: dict, amount_types: str, discounts: bool, warnings: list,
          errors: list) -> dict:
    """One LineItem; problems are added to `errors` naming lines[index]."""
    here = f"lines[{index}]"
    quantity, unit_price = Decimal(line["quantity"]), Decimal(line["unit_price"])
    if decimal_places(quantity) > facts.QUANTITY_PLACES:
        errors.append(_error(f"{here}.quantity", "too_precise", f"At most {facts.QUANTITY_PLACES} decimals in Xero"))
    if decimal_places(unit_price) > facts.UNIT_AMOUNT_PLACES:
        errors.append(_error(f"{here}.unit_price", "too_precise",
                             f"At most {facts.UNIT_AMOUNT_PLACES} decimals in Xero"))
    percent = Decimal(line.get("discount_percent") or 0)
    row: dict = {}
    if line.get("description"):
        _too_long(line["description"], facts.DESCRIPTION_MAX, f"{here}.description", errors)
        row["Description"] = line["description"]
    row["Quantity"] = quantity
    row["UnitAmount"] = unit_price
    if percent and discounts:
        row["DiscountRate"] = percent
    elif percent:
        folded = fold_discount(quantity, unit_price, percent)
        if folded is None:
            errors.append(_error(f"{here}.discount_percent", "discount_not_exact",
                                 f"Xero credit notes take no line discounts, and {_number(percent)}% off "
                                 f"{_number(unit_price)} is not exact at {facts.UNIT_AMOUNT_PLACES} decimals: "
                                 "send the discounted unit price"))
        else:
            row["UnitAmount"] = folded
            warnings.append(CREDIT_DISCOUNT_WARNING.format(index, _number(percent)))
    code = line.get("product_code")
    product = ((mapping.get("products") or {}).get(code) or {}) if code else {}
    if product.get("item"):
        row["ItemCode"] = product["item"]
    elif not line.get("description"):
        errors.append(_error(f"{here}.description", "required",
                             "Xero needs a description for a line without a mapped item"))
    defaults = mapping.get("defaults") or {}
    account = line.get("account_code") or product.get("account") or defaults.get("income_account")
    if account:
        row["AccountCode"] = account
    else:
        errors.append(_error(f"{here}.account_code", "mapping_missing",
                             "No Xero account for this line: give account_code, map the product's account, "
                             "or set defaults.income_account"))
    if amount_types != facts.NO_TAX:
        tax_type = _tax_type(index, line, mapping, warnings, errors)
        if tax_type:
            row["TaxType"] = tax_type
    return row


def _tax_type(index: int, line: dict, mapping: dict, warnings: list, errors: list) -> str | None:
    """The line's TaxType: its category's mapped code, else defaults.tax_code."""
    category = line.get("tax_category")
    code = (mapping.get("tax_categories") or {}).get(category) if category else None
    if code is None:
        code = (mapping.get("defaults") or {}).get("tax_code")
        if category and code:
            warnings.append(f"lines[{index}]: tax category {category!r} is not mapped; "
                            f"written with the default tax type {code}")
    if code is None:
        errors.append(_error(f"lines[{index}].tax_category", "mapping_missing",
                             "No Xero tax type for this line: map its tax category, or set defaults.tax_code"))
    return code


def fold_discount(quantity: Decimal, unit_price: Decimal, percent: Decimal) -> Decimal | None:
    """The unit price with `percent` off when it is exact at 4 decimals, else None (credit notes only)."""
    folded = Decimal(unit_price) * (HUNDRED - Decimal(percent)) / HUNDRED
    if decimal_places(folded) > facts.UNIT_AMOUNT_PLACES:
        return None
    return folded.quantize(Decimal(1).scaleb(-max(decimal_places(folded), facts.AMOUNT_PLACES)))


def invoice_status(xero: dict) -> str:
    """draft, open, partially_paid, paid or void, from Status, Total and AmountDue."""
    status = xero.get("Status")
    if status in (facts.VOIDED, facts.DELETED):
        return "void"
    if status in (facts.DRAFT, facts.SUBMITTED):
        return "draft"
    if status == facts.PAID:
        return "paid"
    total, due = money(xero.get("Total")), money(xero.get("AmountDue"))
    if due <= 0 < total:
        return "paid"
    if 0 < due < total:
        return "partially_paid"
    return "open"


def _lines_from_xero(xero: dict) -> list[dict]:
    """LineItems, normalized."""
    return [{
        "description": line.get("Description"),
        "quantity": _decimal_or_none(line.get("Quantity")),
        "unit_price": _decimal_or_none(line.get("UnitAmount")),
        "discount_percent": _decimal_or_none(line.get("DiscountRate")),
        "amount": _decimal_or_none(line.get("LineAmount")),
        "item": line.get("ItemCode"),
        "account_code": line.get("AccountCode"),
        "tax_code": line.get("TaxType"),
        "tax_amount": _decimal_or_none(line.get("TaxAmount")),
    } for line in xero.get("LineItems") or []]


def _document_from_xero(xero: dict) -> dict:
    """Fields shared by invoices and credit notes, normalized."""
    contact = xero.get("Contact") or {}
    return {
        "external_id": source_external_id(xero.get("Reference")),
        "reference": xero.get("Reference") or None,
        "customer": {"ledger_id": contact.get("ContactID"), "name": contact.get("Name")},
        "issue_date": parse_date(xero.get("Date")),
        "currency": xero.get("CurrencyCode"),
        "exchange_rate": _decimal_or_none(xero.get("CurrencyRate")),
        "amounts_include_tax": xero.get("LineAmountTypes") == facts.INCLUSIVE,
        "line_amount_types": xero.get("LineAmountTypes"),
        "lines": _lines_from_xero(xero),
        "totals": {"subtotal": money(xero.get("SubTotal")), "tax": money(xero.get("TotalTax")),
                   "total": money(xero.get("Total"))},
        "ledger_status": xero.get("Status"),
        "updated_at": parse_datetime(xero.get("UpdatedDateUTC")),
    }


def invoice_from_xero(xero: dict) -> dict:
    """A Xero Invoice as a normalized invoice (read back)."""
    return {
        "ledger_id": xero.get("InvoiceID"),
        "number": xero.get("InvoiceNumber") or None,
        **_document_from_xero(xero),
        "due_date": parse_date(xero.get("DueDate")),
        "status": invoice_status(xero),
        "balance": money(xero.get("AmountDue")),
        "amount_paid": money(xero.get("AmountPaid")),
        "amount_credited": money(xero.get("AmountCredited")),
    }


def credit_note_from_xero(xero: dict) -> dict:
    """A Xero CreditNote as a normalized credit note (read back), with its live allocations."""
    return {
        "ledger_id": xero.get("CreditNoteID"),
        "number": xero.get("CreditNoteNumber") or None,
        **_document_from_xero(xero),
        "status": "void" if xero.get("Status") in (facts.VOIDED, facts.DELETED) else
                  "draft" if xero.get("Status") in (facts.DRAFT, facts.SUBMITTED) else "open",
        "remaining_credit": _decimal_or_none(xero.get("RemainingCredit")),
        "allocations": [allocation_from_xero(allocation) for allocation in live_allocations(xero)],
    }


def live_allocations(credit_note: dict) -> list[dict]:
    """The credit note's allocations that are not deleted."""
    return [allocation for allocation in credit_note.get("Allocations") or [] if not allocation.get("IsDeleted")]


def allocation_from_xero(allocation: dict) -> dict:
    """One Allocation, normalized: which invoice, how much, when."""
    return {"ledger_id": allocation.get("AllocationID"),
            "invoice": {"ledger_id": (allocation.get("Invoice") or {}).get("InvoiceID")},
            "amount": money(allocation.get("Amount")), "date": parse_date(allocation.get("Date"))}


# --- payments and allocations ----------------------------------------------------------------------

def _amount(value, field: str) -> Decimal:
    """A 2-decimal amount, refused (naming `field`) when it has more decimals."""
    amount = Decimal(value)
    if decimal_places(amount) > facts.AMOUNT_PLACES:
        raise LedgerRejected("Amount too precise for Xero", errors=[
            _error(field, "too_precise", f"At most {facts.AMOUNT_PLACES} decimals")])
    return amount


def account_ref(account: str) -> dict:
    """An Account reference: by AccountID for a GUID (bank accounts may have no code), else by Code."""
    return {"AccountID": account} if is_uuid(account) else {"Code": account}


def payment_payload(payment: dict, invoice_id: str, mapping: dict | None) -> dict:
    """A normalized payment as a Xero Payment on one invoice, into the deposit (bank) account."""
    amount = _amount(payment["amount"], "amount")
    account = payment.get("deposit_account") or ((mapping or {}).get("defaults") or {}).get("payment_account")
    if not account:
        raise LedgerRejected("No Xero account to pay into", errors=[_error(
            "deposit_account", "mapping_missing",
            "Give deposit_account, or set defaults.payment_account (a bank account, or one with payments enabled)")])
    body = {"Invoice": {"InvoiceID": invoice_id}, "Account": account_ref(account), "Date": iso(payment.get("date")),
            "Amount": amount}
    reference = payment.get("reference") or (back_reference(payment["external_id"])
                                             if payment.get("external_id") else None)
    if reference:
        if len(reference) > facts.REFERENCE_MAX:
            raise LedgerRejected("Payment reference too long for Xero", errors=[
                _error("reference", "too_long", f"At most {facts.REFERENCE_MAX} characters in Xero")])
        body["Reference"] = reference
    if payment.get("exchange_rate") is not None:
        body["CurrencyRate"] = Decimal(payment["exchange_rate"])
    return body


def allocation_payload(invoice_id: str, amount, when, field: str = "allocations.amount") -> dict:
    """One Allocation of a credit note to an invoice (Amount, Invoice and Date are required)."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": _amount(amount, field), "Date": iso(when)}


def payment_from_xero(xero: dict) -> dict:
    """A Xero Payment as a normalized payment (read back)."""
    invoice = xero.get("Invoice") or {}
    account = xero.get("Account") or {}
    return {
        "ledger_id": xero.get("PaymentID"),
        "external_id": source_external_id(xero.get("Reference")),
        "invoice": {"ledger_id": invoice.get("InvoiceID"), "number": invoice.get("InvoiceNumber") or None},
        "customer": {"ledger_id": (invoice.get("Contact") or {}).get("ContactID")},
        "amount": money(xero.get("Amount")),
        "date": parse_date(xero.get("Date")),
        "currency": invoice.get("CurrencyCode"),
        "exchange_rate": _decimal_or_none(xero.get("CurrencyRate")),
        "reference": xero.get("Reference") or None,
        "deposit_account": account.get("Code") or account.get("AccountID"),
        "status": "deleted" if xero.get("Status") == facts.PAYMENT_DELETED else "active",
        "reconciled": bool(xero.get("IsReconciled", False)),
    }


# --- reference data and the organisation -----------------------------------------------------------

def account_from_xero(xero: dict) -> dict:
    """An Account for pickers; `id` is the Code mappings use (the AccountID when it has no code)."""
    return {
        "id": xero.get("Code") or xero.get("AccountID"),
        "code": xero.get("Code"),
        "name": xero.get("Name"),
        "type": xero.get("Type"),
        "class": xero.get("Class"),
        "currency": xero.get("CurrencyCode"),
        "bank": xero.get("Type") == facts.ACCOUNT_TYPE_BANK,
        "active": xero.get("Status", "ACTIVE") == "ACTIVE",
        "extra": {"account_id": xero.get("AccountID"), "tax_type": xero.get("TaxType"),
                  "payments_enabled": bool(xero.get("EnablePaymentsToAccount", False))},
    }


def tax_rate_from_xero(xero: dict) -> dict:
    """A TaxRate for pickers; `id` is the TaxType code mappings use, `rate` the effective percent."""
    return {
        "id": xero.get("TaxType"),
        "name": xero.get("Name"),
        "rate": _decimal_or_none(xero.get("EffectiveRate")),
        "active": xero.get("Status", "ACTIVE") == "ACTIVE",
        "extra": {"display_rate": _decimal_or_none(xero.get("DisplayTaxRate")),
                  "report_tax_type": xero.get("ReportTaxType"),
                  "sales": bool(xero.get("CanApplyToRevenue", True))},
    }


def item_from_xero(xero: dict) -> dict:
    """An Item for pickers; `id` is the item Code (what LineItem.ItemCode takes)."""
    sales = xero.get("SalesDetails") or {}
    return {
        "id": xero.get("Code"),
        "code": xero.get("Code"),
        "name": xero.get("Name") or xero.get("Code"),
        "unit_price": _decimal_or_none(sales.get("UnitPrice")),
        "income_account": sales.get("AccountCode"),
        "active": bool(xero.get("IsSold", True)),
        "extra": {"item_id": xero.get("ItemID"), "tax_type": sales.get("TaxType"),
                  "description": xero.get("Description")},
    }


def item_payload(item: dict) -> dict:
    """A product the invoicing platform owns (`{code, description, account, tax_code, field}`) as a new Xero
    Item whose Code is the product code, sold to the mapped account and tax type; LedgerRejected names `field`."""
    field, code = item.get("field") or "product_code", str(item["code"]).strip()
    if len(code) > facts.ITEM_CODE_MAX:
        raise LedgerRejected(f"Xero cannot create the item {code!r}", errors=[_error(
            field, "too_long", f"Xero item codes take at most {facts.ITEM_CODE_MAX} characters: map this product "
                               "to an existing item")])
    body = {"Code": code, "Name": code[:facts.ITEM_NAME_MAX]}
    if item.get("description"):
        body["Description"] = item["description"]
    sales = {"AccountCode": item.get("account"), "TaxType": item.get("tax_code")}
    if any(sales.values()):
        body["SalesDetails"] = {key: value for key, value in sales.items() if value}
    return body


def organisation_from_xero(tenant_id: str, xero: dict) -> dict:
    """The Organisation as the tenant facts the bridge keeps (`tenant_info`)."""
    return {
        "id": tenant_id,
        "name": xero.get("Name"),
        "legal_name": xero.get("LegalName"),
        "country": xero.get("CountryCode"),
        "home_currency": xero.get("BaseCurrency"),
        "pays_tax": bool(xero.get("PaysTax", True)),
        "version": xero.get("Version"),
        "organisation_id": xero.get("OrganisationID"),
        "short_code": xero.get("ShortCode"),
        "is_demo": bool(xero.get("IsDemoCompany", False)),
        "timezone": xero.get("Timezone"),
        "plan": xero.get("Class"),
    }


# --- validation errors ----------------------------------------------------------------------------

LINE_REFERENCE_RULES = (
    (re.compile(r"Account code '?(?P<ref>[^'\s]+)'? is not a valid code", re.I), "AccountCode", "account_code",
     "unknown_account"),
    (re.compile(r"TaxType code '?(?P<ref>.+?)'? (?:does not exist|is not valid|cannot be used)", re.I), "TaxType",
     "tax_category", "unknown_tax_type"),
    (re.compile(r"Item code '?(?P<ref>[^'\s]+)'? is not valid", re.I), "ItemCode", "product_code", "unknown_item"),
)
"""Messages that quote a line's reference: (pattern, LineItem key, our line field, code)."""
MESSAGE_RULES = (
    (re.compile(r"(Invoice|Credit ?Note) ?(#|number) must be unique", re.I), {"*": "number"}, "duplicate_number"),
    (re.compile(r"contact name .* already assigned|contact name must be unique", re.I), {"*": "customer.name"},
     "duplicate_name"),
    (re.compile(r"exceeds the amount outstanding|amount outstanding", re.I),
     {"allocation": "allocations.amount", "*": "amount"}, "over_amount_due"),
    (re.compile(r"Email address must be valid", re.I), {"*": "customer.email"}, "invalid_email"),
    (re.compile(r"^Account must be valid|account type|payments? (?:can ?not|cannot) be made to", re.I),
     {"payment": "deposit_account", "*": "lines.account_code"}, "invalid_account"),
    (re.compile(r"^Tax rate must be valid", re.I), {"*": "lines.tax_category"}, "invalid_tax_type"),
    (re.compile(r"discount", re.I), {"*": "lines.discount_percent"}, "invalid_discount"),
    (re.compile(r"lock date", re.I), {"payment": "date", "allocation": "allocations.date", "*": "issue_date"},
     "period_locked"),
    (re.compile(r"\bstatus\b|cannot be (?:edited|modified)", re.I),
     {"payment": "invoice_external_id", "*": "status"}, "invalid_status"),
    (re.compile(r"currency", re.I), {"*": "currency"}, "currency"),
    (re.compile(r"contact", re.I), {"payment": "", "allocation": "", "*": "customer"}, "contact"),
)
"""Other messages: (pattern, field by element kind ("*" for any), code)."""


def element_kind(element: dict) -> str:
    """What a Xero element (echoed in a response) is: invoice, credit_note, payment, allocation, contact."""
    if element.get("Type") == facts.CREDIT_NOTE_TYPE or "CreditNoteID" in element or "CreditNoteNumber" in element:
        return "credit_note"
    if "LineItems" in element or "InvoiceID" in element or "InvoiceNumber" in element or "Type" in element:
        return "invoice"
    if "PaymentID" in element or "Account" in element:
        return "payment"
    if "Amount" in element and "Invoice" in element:
        return "allocation"
    return "contact"


def element_failed(element: dict) -> bool:
    """True when Xero refused this element (summarizeErrors=false marks it instead of failing the call)."""
    return bool(element.get("HasErrors") or element.get("HasValidationErrors")
                or element.get("StatusAttributeString") == "ERROR")


def element_warnings(element: dict) -> list[str]:
    """Warnings Xero attached to an element it accepted."""
    found = [warning.get("Message") for warning in element.get("Warnings") or []]
    if not element_failed(element):
        found += [error.get("Message") for error in element.get("ValidationErrors") or []]
    return [message for message in found if message]


def element_errors(element: dict) -> list[dict]:
    """An element's ValidationErrors (its own, its lines' and its contact's) with OUR field paths."""
    kind = element_kind(element)
    lines = element.get("LineItems") or []
    errors: list[dict] = []
    for error in element.get("ValidationErrors") or []:
        errors += message_errors(error.get("Message") or "", kind, lines)
    for index, line in enumerate(lines):
        for error in line.get("ValidationErrors") or []:
            errors += message_errors(error.get("Message") or "", kind, lines, line_index=index)
    for error in (element.get("Contact") or {}).get("ValidationErrors") or []:
        errors += message_errors(error.get("Message") or "", "contact", [])
    unique = []
    for error in errors:
        if error not in unique:
            unique.append(error)
    return unique


def message_errors(message: str, kind: str, lines: list[dict], line_index: int | None = None) -> list[dict]:
    """One Xero validation message as field errors; a quoted line reference names each line using it."""
    for pattern, key, field, code in LINE_REFERENCE_RULES:
        found = pattern.search(message)
        if found:
            if line_index is not None:
                return [_error(f"lines[{line_index}].{field}", code, message)]
            reference = found.group("ref").strip().strip("'").lower()
            indexes = [index for index, line in enumerate(lines) if str(line.get(key) or "").lower() == reference]
            if not indexes:
                return [_error(f"lines.{field}", code, message)]
            return [_error(f"lines[{index}].{field}", code, message) for index in indexes]
    for pattern, fields, code in MESSAGE_RULES:
        if pattern.search(message):
            field = fields.get(kind, fields["*"])
            if line_index is not None and field.startswith("lines."):
                field = f"lines[{line_index}]." + field.removeprefix("lines.")
            return [_error(field, code, message)]
    field = f"lines[{line_index}]" if line_index is not None else ""
    return [_error(field, "validation", message)]


def error_body_errors(body) -> list[dict]:
    """A Xero error body (400 ValidationException or another) as `[{field, message, code}]`."""
    if not isinstance(body, dict):
        return []
    errors: list[dict] = []
    for element in body.get("Elements") or []:
        errors += element_errors(element)
    if not errors:
        message = body.get("Message") or body.get("Detail") or body.get("Title") or body.get("text")
        if message:
            errors.append(_error("", str(body.get("Type") or body.get("Title") or "error"), str(message)))
    return errors


# --- reconciliation ----------------------------------------------------------------------------------

def applied_payments(xero_invoice: dict) -> list[dict]:
    """The live payments on a Xero invoice, `{ledger_id, amount, date}` (credit notes are apart)."""
    return [{"ledger_id": payment.get("PaymentID"), "amount": money(payment.get("Amount")),
             "date": parse_date(payment.get("Date"))}
            for payment in xero_invoice.get("Payments") or [] if payment.get("Status") != facts.PAYMENT_DELETED]
