"""Invoices (`invoices/invoices`, wrapper `invoice`): drafts, the send actions, statuses, paid and outstanding.

Facts §3.5 and freshbooks.com/api/invoices:
- an invoice needs `customerid` (a client) and `create_date`; it is created as a Draft (status 1) and stays
  out of the books until `action_mark_as_sent` or `action_email` (status 2);
- statuses 1 Draft, 2 Sent, 3 Viewed, 4 Paid, 8 Partial (5-7 and 0 concern autobill and disputes);
- "The same Invoice Number can't be used twice (regardless of whether the Invoice itself is active,
  archived or deleted)" [V] freshbooks.com/support/how-do-i-change-the-starting-invoice-number, so a
  duplicate is refused (422) rather than stored.
"""

from __future__ import annotations

from . import errors, money, query
from .common import integer, text
from .documents import DOCUMENT_TEXT, ZERO, Documents, document_totals, paid_on, render_lines
from .store import DELETED

DRAFT, SENT, VIEWED, PAID, PARTIAL = 1, 2, 3, 4, 8
V3_STATUS = {DRAFT: "draft", SENT: "sent", VIEWED: "viewed", PAID: "paid", PARTIAL: "partial"}


def invoice_figures(business, record, excluding_payment: int | None = None) -> dict:
    """Totals, paid, outstanding and status of an invoice."""
    figures = document_totals(record.body)
    paid = paid_on(business, business.payments_by_invoice, record.id, excluding_payment)
    amount = figures["amount"]
    if paid > 0 and paid >= amount:
        status = PAID
    elif paid > 0:
        status = PARTIAL
    elif record.meta.get("sent"):
        status = SENT
    else:
        status = DRAFT
    figures.update({"paid": paid, "outstanding": amount - paid, "status": status})
    return figures


class Invoices(Documents):
    """invoices/invoices."""

    entity = single = "invoice"
    plural = "invoices"
    path = "invoices/invoices"
    scope = "invoices"
    id_field = "invoiceid"
    http_delete = "soft"  # invoices take a real DELETE (facts §3.2); it deletes like vis_state 1
    create_date_required = True
    actions = ("action_mark_as_sent", "action_email")
    fields = frozenset({"customerid", "create_date", "due_offset_days", "currency_code", "invoice_number",
                        "lines", "po_number", *DOCUMENT_TEXT})
    filters = {
        **query.standard_filters(),
        "invoice_number": query.equals(lambda b, r: r.body.get("invoice_number")),
        "invoiceid": query.equals(lambda b, r: r.id, "int"),
        "invoiceids": query.in_list(lambda b, r: r.id),
        "customerid": query.equals(lambda b, r: r.body["customerid"], "int"),
        "customerids": query.in_list(lambda b, r: r.body["customerid"]),
        "statusids": query.in_list(lambda b, r: invoice_figures(b, r)["status"]),
        "v3_status": query.equals(lambda b, r: V3_STATUS[invoice_figures(b, r)["status"]]),
        "currency_code": query.equals(lambda b, r: r.body["currency_code"]),
        "date_min": query.at_least(lambda b, r: r.body["create_date"]),
        "date_max": query.below(lambda b, r: r.body["create_date"]),
        "notes_like": query.like(lambda b, r: r.body.get("notes")),
    }

    def prepare(self, writer, body, record):
        """customerid and create_date required; number unique; lines checked."""
        self._prepare_common(writer, body, record)
        due = integer(body, "due_offset_days", "invoice", minimum=0)
        body["due_offset_days"] = due or 0
        text(body, "po_number", "invoice", 100)
        self._number(writer, body, record)
        return body

    def _number_taken(self, business, number, record):
        owner = business.invoice_numbers.get(number)
        return owner is not None and (record is None or owner != record.id)

    def after_create(self, writer, record):
        """Reserve the number (for good: deleted invoices keep theirs)."""
        super().after_create(writer, record)
        writer.business.invoice_numbers[record.body["invoice_number"]] = record.id

    def after_update(self, writer, record, before):
        """A renumbered invoice frees its old number."""
        if before.get("invoice_number") != record.body["invoice_number"]:
            writer.business.invoice_numbers.pop(before.get("invoice_number"), None)
            writer.business.invoice_numbers[record.body["invoice_number"]] = record.id

    def run_action(self, writer, record, body):
        """action_mark_as_sent / action_email: the draft becomes Sent (and enters the books)."""
        if body.get("action_mark_as_sent"):
            record.meta["sent"] = True
            return ["invoice.update"]
        if body.get("action_email"):
            recipients = body.get("email_recipients")
            if not isinstance(recipients, list) or not recipients or \
                    not all(isinstance(r, str) and "@" in r for r in recipients):
                raise errors.required("invoice", "email_recipients")
            record.meta["sent"] = True
            record.meta.setdefault("emailed_to", []).append(list(recipients))
            return ["invoice.update", "invoice.sendByEmail"]
        return []

    def after_vis_state(self, writer, record, before):
        """Deleting an invoice deletes its payments too [U] (as the FreshBooks UI warns it does)."""
        if record.vis_state != DELETED or before == DELETED:
            return
        for payment_id in writer.business.payments_by_invoice.get(record.id, []):
            payment = writer.business.get("payment", payment_id)
            if payment is not None and payment.vis_state != DELETED:
                payment.vis_state = DELETED
                writer.touch(payment, "payment", "delete")

    def render(self, business, record, includes=frozenset()):
        """The invoice with computed amount, paid, outstanding and status."""
        body = record.body
        code = body["currency_code"]
        figures = invoice_figures(business, record)
        status = figures["status"]
        client = business.get("client", body["customerid"])
        out = self.base(business, record)
        out.update({
            "accountid": business.account_id, "invoice_number": body["invoice_number"],
            "customerid": body["customerid"], "create_date": body["create_date"],
            "due_offset_days": body["due_offset_days"],
            "due_date": money.add_days(body["create_date"], body["due_offset_days"]),
            "currency_code": code, "po_number": body.get("po_number"),
            "current_organization": (client.body.get("organization") if client else None) or "",
            "amount": money.money(figures["amount"], code), "paid": money.money(figures["paid"], code),
            "outstanding": money.money(figures["outstanding"], code),
            "discount_value": "0", "discount_total": money.money(ZERO, code),
            "status": status, "v3_status": V3_STATUS[status], "display_status": V3_STATUS[status],
            "payment_status": {PAID: "paid", PARTIAL: "partial"}.get(status, "unpaid"),
            "date_paid": _date_paid(business, record) if status == PAID else None,
            "created_at": money.stamp(record.created), "ownerid": 1, "estimateid": 0, "parent": 0,
            "auto_bill": False, "dispute_status": None, "deposit_status": "none",
            "template": "clean-grouped"})
        for key in DOCUMENT_TEXT:
            if key != "description":
                out[key] = body.get(key) if body.get(key) is not None else ""
        if "lines" in includes:
            out["lines"] = render_lines(body, "invoiceid", record.id, code, record.updated)
        return out


def _date_paid(business, invoice) -> str | None:
    dates = [business.get("payment", pid).body["date"] for pid in business.payments_by_invoice.get(invoice.id, [])
             if business.get("payment", pid).vis_state != DELETED]
    return max(dates) if dates else None


INVOICES = Invoices()
