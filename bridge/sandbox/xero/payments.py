"""Payments (create, delete) and credit-note allocations, with the balances they move.

Facts §2.6 and the spec's Payment/Allocation: a payment names its invoice by InvoiceID or
InvoiceNumber (or a credit note, for a refund) and its account by AccountID or Code; the account must
be a bank account or have payments enabled; Amount must not exceed what is outstanding ("Payment
amount exceeds the amount outstanding on this document", spec example); payments cannot be edited,
only deleted with `{"Status": "DELETED"}`. Allocations need Invoice, Amount and Date (spec required).
"""

from __future__ import annotations

from decimal import Decimal

from .documents import CREDIT_NOTE, INVOICE, find, outstanding, settle, summary_ref
from .errors import ItemInvalid
from .reference import accepts_payments, account_by_ref
from .store import Context, Record, Tenant
from .wire import RATE_6DP, money, ms_date, ms_datetime, parse_date, quantize, to_decimal, utc_string

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT", "ACCRECCREDIT": "ARCREDITPAYMENT",
                 "ACCPAYCREDIT": "APCREDITPAYMENT"}  # spec Payment.PaymentType
EXCEEDS = "Payment amount exceeds the amount outstanding on this document"
ONLY_AUTHORISED = "Payments can only be made against Authorised documents"
NOT_PAYABLE_ACCOUNT = ("Payments can only be made to bank accounts or to accounts with 'Enable payments to this "
                       "account' turned on")
ONLY_DELETE = "A payment cannot be edited; it can only be deleted with Status DELETED"
ALLOCATION_EXCEEDS_CREDIT = "The amount allocated exceeds the remaining credit on this credit note"
ALLOCATION_EXCEEDS_DUE = "The amount allocated exceeds the amount outstanding on the invoice"


def _amount(raw: dict, errors: list[str]) -> Decimal | None:
    if raw.get("Amount") is None:
        errors.append("Amount must be specified")
        return None
    try:
        amount = to_decimal(raw["Amount"])
    except ValueError:
        errors.append(f"Amount must be a number, not {raw['Amount']!r}")
        return None
    if amount <= 0:
        errors.append("Amount must be greater than zero")
        return None
    return money(amount)


def _document(tenant: Tenant, raw: dict, errors: list[str]) -> tuple[object, Record | None]:
    invoice = raw.get("Invoice") if isinstance(raw.get("Invoice"), dict) else {}
    credit = raw.get("CreditNote") if isinstance(raw.get("CreditNote"), dict) else {}
    key = invoice.get("InvoiceID") or invoice.get("InvoiceNumber") or raw.get("InvoiceNumber")
    if key:
        record = find(tenant, INVOICE, str(key))
        if record is None:
            errors.append(f"Invoice '{key}' could not be found")
        return INVOICE, record
    key = credit.get("CreditNoteID") or credit.get("CreditNoteNumber") or raw.get("CreditNoteNumber")
    if key:
        record = find(tenant, CREDIT_NOTE, str(key))
        if record is None:
            errors.append(f"Credit note '{key}' could not be found")
        return CREDIT_NOTE, record
    errors.append("An Invoice (InvoiceID or InvoiceNumber) or a CreditNote must be specified")
    return INVOICE, None


def create(ctx: Context, raw) -> Record:
    """Record a payment against an AUTHORISED invoice (or a refund of a credit note)."""
    if not isinstance(raw, dict):
        raise ItemInvalid("A payment must be a JSON object")
    tenant = ctx.tenant
    errors: list[str] = []
    kind, document = _document(tenant, raw, errors)
    ref = raw.get("Account") if isinstance(raw.get("Account"), dict) else {}
    if not ref and raw.get("Code"):
        ref = {"Code": raw["Code"]}
    account = None
    if not ref.get("AccountID") and not ref.get("Code"):
        errors.append("An Account (AccountID or Code) must be specified")
    else:
        account = account_by_ref(tenant, ref)
        if account is None:
            errors.append(f"Account '{ref.get('Code') or ref.get('AccountID')}' could not be found")
        elif not accepts_payments(account):
            errors.append(NOT_PAYABLE_ACCOUNT)
    day = tenant.today(ctx.now)
    if raw.get("Date") not in (None, ""):
        try:
            day = parse_date(raw["Date"])
        except ValueError:
            errors.append(f"Date '{raw['Date']}' is not a valid date (use YYYY-MM-DD)")
    amount = _amount(raw, errors)
    if raw.get("Status") not in (None, "AUTHORISED"):
        errors.append("A new payment must have Status AUTHORISED")
    if document is not None and amount is not None:
        status = document.body["Status"]
        if status == "PAID" or (status == "AUTHORISED" and amount > outstanding(tenant, document)):
            errors.append(EXCEEDS)
        elif status != "AUTHORISED":
            errors.append(ONLY_AUTHORISED)
    if errors:
        raise ItemInvalid(errors)
    body = {"_document_entity": kind.entity, "_document": document.id, "_account": account.id, "Date": day,
            "Amount": amount, "Reference": raw["Reference"] if isinstance(raw.get("Reference"), str) else "",
            "IsReconciled": bool(raw.get("IsReconciled")), "Status": "AUTHORISED",
            "PaymentType": PAYMENT_TYPES[document.body["Type"]]}
    payment = ctx.add("Payment", body)
    ctx.touch(document)
    document.body["_payments"] = [*document.body.get("_payments", []), payment.id]
    ctx.change(kind.category, document.id, "UPDATE")
    settle(ctx, kind, document)
    return payment


def update(ctx: Context, payment: Record, raw) -> Record:
    """POST /Payments/{id}: only `{"Status": "DELETED"}` is allowed."""
    if isinstance(raw, dict) and isinstance(raw.get("Payments"), list) and len(raw["Payments"]) == 1:
        raw = raw["Payments"][0]  # the spec's example wraps the delete in a Payments array
    if not isinstance(raw, dict) or raw.get("Status") != "DELETED":
        raise ItemInvalid(ONLY_DELETE)
    return delete(ctx, payment)


def delete(ctx: Context, payment: Record) -> Record:
    """Delete a payment: the document's AmountDue comes back and PAID returns to AUTHORISED."""
    if payment.body["Status"] == "DELETED":
        return payment
    ctx.touch(payment)
    payment.body["Status"] = "DELETED"
    kind = INVOICE if payment.body["_document_entity"] == "Invoice" else CREDIT_NOTE
    document = ctx.tenant.get(kind.entity, payment.body["_document"])
    if document is not None:
        ctx.touch(document)
        ctx.change(kind.category, document.id, "UPDATE")
        settle(ctx, kind, document)
    return payment


def render(tenant: Tenant, payment: Record) -> dict:
    """A Payment as Xero returns it."""
    body = payment.body
    out = {"PaymentID": payment.id, "Date": ms_date(body["Date"]), "BankAmount": money(body["Amount"]),
           "Amount": money(body["Amount"]), "Reference": body.get("Reference", ""),
           "CurrencyRate": quantize(Decimal("1"), RATE_6DP), "PaymentType": body["PaymentType"],
           "Status": body["Status"], "UpdatedDateUTC": ms_datetime(payment.updated),
           "UpdatedDateUTCString": utc_string(payment.updated), "HasAccount": True,
           "IsReconciled": bool(body.get("IsReconciled"))}
    account = tenant.get("Account", body["_account"])
    if account is not None:
        out["Account"] = {"AccountID": account.id, "Code": account.body["Code"], "Name": account.body["Name"]}
    kind = INVOICE if body["_document_entity"] == "Invoice" else CREDIT_NOTE
    document = tenant.get(kind.entity, body["_document"])
    if document is not None:
        out["Invoice" if kind is INVOICE else "CreditNote"] = summary_ref(tenant, kind, document)
    out["HasValidationErrors"] = False
    return out


def allocate(ctx: Context, credit: Record, raw) -> Record:
    """Apply part of an AUTHORISED credit note to an AUTHORISED invoice of the same contact."""
    if not isinstance(raw, dict):
        raise ItemInvalid("An allocation must be a JSON object")
    tenant = ctx.tenant
    errors: list[str] = []
    invoice_ref = raw.get("Invoice") if isinstance(raw.get("Invoice"), dict) else {}
    key = invoice_ref.get("InvoiceID") or invoice_ref.get("InvoiceNumber")
    invoice = None
    if not key:
        errors.append("Invoice must be specified")
    else:
        invoice = find(tenant, INVOICE, str(key))
        if invoice is None:
            errors.append(f"Invoice '{key}' could not be found")
    amount = _amount(raw, errors)
    day = None
    if raw.get("Date") in (None, ""):
        errors.append("Date must be specified")
    else:
        try:
            day = parse_date(raw["Date"])
        except ValueError:
            errors.append(f"Date '{raw['Date']}' is not a valid date (use YYYY-MM-DD)")
    if credit.body["Status"] not in ("AUTHORISED", "PAID"):
        errors.append("Only an AUTHORISED credit note can be allocated")
    if invoice is not None:
        expected_type = "ACCREC" if credit.body["Type"] == "ACCRECCREDIT" else "ACCPAY"
        if invoice.body["Type"] != expected_type:
            errors.append(f"A {credit.body['Type']} credit note can only be allocated to {expected_type} invoices")
        elif invoice.body["_contact"] != credit.body["_contact"]:
            errors.append("The credit note and the invoice must belong to the same contact")
        elif invoice.body["Status"] not in ("AUTHORISED", "PAID"):
            errors.append("Credit can only be allocated to Authorised invoices")
    if not errors and amount is not None:
        if amount > outstanding(tenant, credit):
            errors.append(ALLOCATION_EXCEEDS_CREDIT)
        if amount > outstanding(tenant, invoice):
            errors.append(ALLOCATION_EXCEEDS_DUE)
    if errors:
        raise ItemInvalid(errors)
    allocation = ctx.add("Allocation", {"_credit": credit.id, "_invoice": invoice.id, "Amount": amount,
                                        "Date": day, "Status": "AUTHORISED"})
    for kind, document in ((CREDIT_NOTE, credit), (INVOICE, invoice)):
        ctx.touch(document)
        document.body["_allocations"] = [*document.body.get("_allocations", []), allocation.id]
        ctx.change(kind.category, document.id, "UPDATE")
        settle(ctx, kind, document)
    return allocation


def delete_allocation(ctx: Context, allocation: Record) -> Record:
    """Remove an allocation: the credit and the invoice balance come back."""
    if allocation.body["Status"] == "DELETED":
        return allocation
    ctx.touch(allocation)
    allocation.body["Status"] = "DELETED"
    for kind, key in ((CREDIT_NOTE, "_credit"), (INVOICE, "_invoice")):
        document = ctx.tenant.get(kind.entity, allocation.body[key])
        if document is not None:
            ctx.touch(document)
            ctx.change(kind.category, document.id, "UPDATE")
            settle(ctx, kind, document)
    return allocation

