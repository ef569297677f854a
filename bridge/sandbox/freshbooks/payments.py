"""Payments (`payments/payments`, wrapper `payment`): settle invoices, overpayments, payments from credit.

Facts §3.5: `{"payment": {"invoiceid", "amount": {"amount": "180.00"}, "date", "type", "note"}}`; the
answer carries `id`, `logid`, `clientid`, `invoiceid`, `amount`, and `overpaymentid` if overpaid.
Overpayment [P]: "If you manually enter a payment for an Invoice, and the amount is over the balance due
... This automatically creates a Credit for that Client ... there are two payments entries for the one
payment you entered. One of them is a payment towards the balance of the Invoice, while the other is the
Overpayment Credit" (freshbooks.com/support, extra credits in payment history). So the payment keeps the
part that settles the invoice and the rest becomes a credit note of credit_type "overpayment" whose id is
the payment's `overpaymentid`.
"""

from __future__ import annotations

from decimal import Decimal

from . import errors, money, query
from .clients import CLIENTS
from .common import Kind, boolean, date_field, integer, text
from .credit_notes import CREDIT_NOTES, OVERPAYMENT, credit_figures
from .invoices import INVOICES, invoice_figures
from .money import BadValue
from .store import DELETED

ZERO = Decimal("0")
# [P] facts §3.5 ("Check, Cash, Credit Card, Bank Transfer, PayPal, ACH, ...") and CData's FreshBooks docs.
PAYMENT_TYPES = ("Check", "Credit", "Cash", "Credit Card", "Bank Transfer", "Debit", "PayPal", "ACH",
                 "2Checkout", "VISA", "MASTERCARD", "DISCOVER", "NOVA", "AMEX", "DINERS", "EUROCARD", "JCB",
                 "Other")
CREDIT_TYPE = "Credit"


def _invoice_for(writer, body, record):
    business = writer.business
    if record is not None:
        if body.get("invoiceid") is not None and str(body["invoiceid"]) != str(record.body["invoiceid"]):
            raise errors.invalid("payment", "invoiceid", body["invoiceid"], "invoiceid cannot be changed.")
        body["invoiceid"] = record.body["invoiceid"]
        return business.get("invoice", record.body["invoiceid"])
    if body.get("invoiceid") is None:
        raise errors.required("payment", "invoiceid")
    invoice = business.usable("invoice", integer(body, "invoiceid", "payment"))
    if invoice is None:
        raise errors.not_found("invoice", "invoiceid", body["invoiceid"], status=422)
    return invoice


class Payments(Kind):
    """payments/payments."""

    entity = single = "payment"
    plural = "payments"
    path = "payments/payments"
    scope = "payments"
    id_field = "logid"
    newest_first = True
    fields = frozenset({"invoiceid", "amount", "date", "type", "note", "creditid", "from_credit",
                        "send_client_notification"})
    includes = frozenset({"invoice", "client", "credit_note"})
    filters = {
        **query.standard_filters(),
        "logid": query.equals(lambda b, r: r.id, "int"),
        "logids": query.in_list(lambda b, r: r.id),
        "invoiceid": query.equals(lambda b, r: r.body["invoiceid"], "int"),
        "clientid": query.equals(lambda b, r: r.body["clientid"], "int"),
        "clientids": query.in_list(lambda b, r: r.body["clientid"]),
        "customerid": query.equals(lambda b, r: r.body["clientid"], "int"),
        "customerids": query.in_list(lambda b, r: r.body["clientid"]),
        "type": query.equals(lambda b, r: r.body["type"]),
        "from_credit": query.equals(lambda b, r: r.body["from_credit"], "bool"),
        "currency": query.equals(lambda b, r: r.body["currency_code"]),
        "date_min": query.at_least(lambda b, r: r.body["date"]),
        "date_max": query.below(lambda b, r: r.body["date"]),
        "amount_min": query.at_least(lambda b, r: r.body["amount"], "money"),
        "amount_max": query.below(lambda b, r: r.body["amount"], "money"),
        "notes": query.like(lambda b, r: r.body.get("note")),
    }

    def prepare(self, writer, body, record):
        """Check the invoice, amount, date and type; a payment from credit draws on a credit note."""
        business = writer.business
        invoice = _invoice_for(writer, body, record)
        if body.get("amount") is None:
            raise errors.required("payment", "amount")
        try:
            amount = money.round_cents(money.money_input(body["amount"]))
        except BadValue:
            raise errors.invalid("payment", "amount", None, 'amount must be {"amount": "<decimal>"}.') from None
        if amount <= 0:
            raise errors.invalid("payment", "amount", money.money_text(amount), "amount must be greater than 0.")
        date_field(body, "date", "payment")
        body.setdefault("date", None)
        if body["date"] is None:
            body["date"] = money.today(writer.now)
        text(body, "note", "payment")
        boolean(body, "from_credit", "payment")
        kind = body.get("type") or "Check"
        canonical = next((t for t in PAYMENT_TYPES if isinstance(kind, str) and t.casefold() == kind.casefold()),
                         None)
        if canonical is None:
            raise errors.invalid("payment", "type", kind, f"type must be one of: {', '.join(PAYMENT_TYPES)}.")
        body["type"] = canonical
        body.pop("send_client_notification", None)
        excluding = record.id if record is not None else None
        outstanding = invoice_figures(business, invoice, excluding)["outstanding"]
        from_credit = canonical == CREDIT_TYPE or body.get("creditid") is not None or body.get("from_credit")
        if from_credit:
            self._check_credit(writer, body, invoice, amount, outstanding, excluding)
        else:
            body["from_credit"], body["creditid"] = False, None
            if record is not None and amount > outstanding:
                # [U] only a new payment turns an excess into an overpayment credit; an edit may not overpay.
                raise errors.invalid("payment", "amount", money.money_text(amount),
                                     "amount is more than the invoice's outstanding balance.")
        body["clientid"] = invoice.body["customerid"]
        body["currency_code"] = invoice.body["currency_code"]
        excess = amount - max(outstanding, ZERO) if record is None and not from_credit else ZERO
        body["amount"] = amount - excess if excess > 0 else amount
        body["excess"] = excess if excess > 0 else ZERO
        return body

    def _check_credit(self, writer, body, invoice, amount, outstanding, excluding):
        if body.get("creditid") is None:
            raise errors.required("payment", "creditid")
        credit = writer.business.usable("credit_note", integer(body, "creditid", "payment"))
        if credit is None:
            raise errors.not_found("credit_note", "creditid", body["creditid"], status=422)
        if credit.body["clientid"] != invoice.body["customerid"]:
            raise errors.invalid("payment", "creditid", credit.id, "The credit belongs to another client.")
        if credit.body["currency_code"] != invoice.body["currency_code"]:
            raise errors.invalid("payment", "creditid", credit.id, "The credit is in another currency.")
        if amount > credit_figures(writer.business, credit, excluding)["remaining"]:
            raise errors.accounting(422, errors.ERRNO_CREDIT, "The credit does not have enough left for this "
                                    "amount.", "amount", "payment", money.money_text(amount))
        if amount > outstanding:
            raise errors.accounting(422, errors.ERRNO_CREDIT, "A payment from credit cannot be more than the "
                                    "invoice's outstanding balance.", "amount", "payment", money.money_text(amount))
        body["type"], body["from_credit"] = CREDIT_TYPE, True

    def after_create(self, writer, record):
        """File the payment, turn an excess into an overpayment credit, update the invoice."""
        business = writer.business
        business.payments_by_invoice.setdefault(record.body["invoiceid"], []).append(record.id)
        if record.body.get("creditid") is not None:
            business.payments_by_credit.setdefault(record.body["creditid"], []).append(record.id)
        excess = record.body.pop("excess", ZERO)
        invoice = business.get("invoice", record.body["invoiceid"])
        if excess > 0:
            credit = writer.create(CREDIT_NOTES, {
                "clientid": record.body["clientid"], "create_date": record.body["date"],
                "currency_code": record.body["currency_code"], "credit_type": OVERPAYMENT,
                "description": f"Overpayment: invoice {invoice.body['invoice_number']}",
                "lines": [{"type": 0, "name": "Overpayment", "qty": 1, "unit_cost": {"amount": excess}}]},
                system=True)
            record.body["overpaymentid"] = credit.id
        # [U] Paying a draft takes it out of Draft (status Paid/Partial), so it counts in the books.
        invoice.meta["sent"] = True
        writer.touch(invoice, "invoice", "update")
        if record.body.get("creditid") is not None:
            writer.touch(business.get("credit_note", record.body["creditid"]), "credit_note", "update")

    def after_update(self, writer, record, before):
        """The invoice's balance changed."""
        record.body.pop("excess", None)
        writer.touch(writer.business.get("invoice", record.body["invoiceid"]), "invoice", "update")

    def after_vis_state(self, writer, record, before):
        """Deleting or restoring a payment changes the invoice's balance (and the credit's, if any)."""
        invoice = writer.business.get("invoice", record.body["invoiceid"])
        if invoice is not None and invoice.vis_state != DELETED:
            writer.touch(invoice, "invoice", "update")

    def render(self, business, record, includes=frozenset()):
        """The payment; include[]=invoice / client / credit_note embed those objects."""
        body = record.body
        out = self.base(business, record)
        out.update({"invoiceid": body["invoiceid"], "clientid": body["clientid"],
                    "amount": money.money(body["amount"], body["currency_code"]), "date": body["date"],
                    "type": body["type"], "note": body.get("note") or "", "from_credit": body["from_credit"],
                    "creditid": body.get("creditid"), "overpaymentid": body.get("overpaymentid"),
                    "gateway": None, "orderid": None, "transactionid": None})
        if "invoice" in includes:
            invoice = business.get("invoice", body["invoiceid"])
            out["invoice"] = INVOICES.render(business, invoice) if invoice else None
        if "client" in includes:
            client = business.get("client", body["clientid"])
            out["client"] = CLIENTS.render(business, client) if client else None
        if "credit_note" in includes:
            credit = business.get("credit_note", body.get("creditid")) if body.get("creditid") else None
            out["credit_note"] = CREDIT_NOTES.render(business, credit) if credit else None
        return out


PAYMENTS = Payments()
