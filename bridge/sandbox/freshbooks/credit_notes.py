"""Credit notes (`credit_notes/credit_notes`, wrapper `credit_note`): goodwill and prepayment credits.

`credit_type` is goodwill or prepayment [V] freshbooks.com/api/credits; FreshBooks also makes
"overpayment" credits itself when a payment is more than an invoice's balance (see payments.py).
"""

from __future__ import annotations

from . import errors, money, query
from .documents import DOCUMENT_TEXT, Documents, document_totals, paid_on, render_lines

CREDIT_TYPES = ("goodwill", "prepayment")  # [V] freshbooks.com/api/credits
OVERPAYMENT = "overpayment"  # credits FreshBooks makes itself from an overpayment (never accepted as input)


def credit_figures(business, record, excluding_payment: int | None = None) -> dict:
    """Totals, amount applied to invoices and what is left of a credit note."""
    figures = document_totals(record.body)
    applied = paid_on(business, business.payments_by_credit, record.id, excluding_payment)
    figures.update({"applied": applied, "remaining": figures["amount"] - applied})
    return figures


class CreditNotes(Documents):
    """credit_notes/credit_notes.

    Applying a credit to an invoice is unconfirmed [U] (facts §3.5): FreshBooks payments carry `creditid`
    and `from_credit` ("the payment was converted from a credit on a client's account") and `type` "Credit"
    [P] freshbooks.com/api/payments field list, CData. So a credit is applied by POSTing a payment with
    `creditid` (or type "Credit"); `paid` on the credit note is the amount applied so far.
    """

    entity = single = "credit_note"
    plural = "credit_notes"
    path = "credit_notes/credit_notes"
    scope = "credit_notes"
    id_field = "creditid"
    client_field = "clientid"
    number_field = "credit_number"
    create_date_required = False
    fields = frozenset({"clientid", "create_date", "currency_code", "credit_type", "credit_number", "lines",
                        *DOCUMENT_TEXT})
    filters = {
        **query.standard_filters(),
        "clientid": query.equals(lambda b, r: r.body["clientid"], "int"),
        "clientids": query.in_list(lambda b, r: r.body["clientid"]),
        "credit_number": query.equals(lambda b, r: r.body.get("credit_number")),
        "credit_type": query.equals(lambda b, r: r.body.get("credit_type")),
        "creditids": query.in_list(lambda b, r: r.id),
    }

    def prepare(self, writer, body, record):
        """clientid required; credit_type goodwill or prepayment (default goodwill)."""
        self._prepare_common(writer, body, record)
        kind = body.get("credit_type") or "goodwill"
        allowed = CREDIT_TYPES + ((OVERPAYMENT,) if writer.system or (record and record.body.get(
            "credit_type") == OVERPAYMENT) else ())
        if kind not in allowed:
            raise errors.invalid("credit_note", "credit_type", kind, "credit_type must be goodwill or prepayment.")
        body["credit_type"] = kind
        self._number(writer, body, record)  # credit numbers are not checked for reuse [U]
        if record is not None and document_totals(body)["amount"] < credit_figures(writer.business, record)["applied"]:
            raise errors.accounting(422, errors.ERRNO_CREDIT, "The credit is already applied beyond this amount.",
                                    "lines", "credit_note")
        return body

    def render(self, business, record, includes=frozenset()):
        """The credit note with its amount and what has been applied."""
        body = record.body
        code = body["currency_code"]
        figures = credit_figures(business, record)
        applied, amount = figures["applied"], figures["amount"]
        out = self.base(business, record)
        out.update({
            "credit_number": body["credit_number"], "clientid": body["clientid"],
            "credit_type": body["credit_type"], "currency_code": code, "create_date": body["create_date"],
            "amount": money.money(amount, code), "paid": money.money(applied, code),
            "payment_status": "paid" if amount and applied >= amount else ("partial" if applied else "unpaid"),
            "status": "created", "display_status": "created", "sentid": 1, "template": "clean-grouped"})
        for key in DOCUMENT_TEXT:
            out[key] = body.get(key) if body.get(key) is not None else ""
        if "lines" in includes:
            out["lines"] = render_lines(body, "creditid", record.id, code, record.updated)
        return out


CREDIT_NOTES = CreditNotes()
