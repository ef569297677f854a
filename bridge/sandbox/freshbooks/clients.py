"""Clients (`users/clients`, wrapper `client`): the people and companies a business invoices."""

from __future__ import annotations

from decimal import Decimal

from . import errors, money, query
from .common import Kind, currency_field, text
from .invoices import invoice_figures

ADDRESS_FIELDS = ("p_street", "p_street2", "p_city", "p_province", "p_code", "p_country",
                  "s_street", "s_street2", "s_city", "s_province", "s_code", "s_country")
TEXT_FIELDS = ("organization", "fname", "lname", "email", "bus_phone", "home_phone", "mob_phone", "fax",
               "note", "vat_name", "vat_number", "language", "username") + ADDRESS_FIELDS
IDENTIFYING = ("organization", "fname", "lname", "email")


class Clients(Kind):
    """users/clients."""

    entity = single = "client"
    plural = "clients"
    path = "users/clients"
    scope = "clients"
    id_field = "userid"  # clients repeat their id as userid [V] FB-SDK get_client_response.json
    fields = frozenset(TEXT_FIELDS + ("currency_code",))
    includes = frozenset({"outstanding_balance"})
    filters = {
        **query.standard_filters(),
        "email": query.equals(lambda b, r: r.body.get("email"), "fold"),
        "email_like": query.like(lambda b, r: r.body.get("email")),
        "organization_like": query.like(lambda b, r: r.body.get("organization")),
        "fname_like": query.like(lambda b, r: r.body.get("fname")),
        "lname_like": query.like(lambda b, r: r.body.get("lname")),
        "userid": query.equals(lambda b, r: r.id, "int"),
        "userids": query.in_list(lambda b, r: r.id),
        "currency_code": query.equals(lambda b, r: r.body.get("currency_code")),
    }

    def prepare(self, writer, body, record):
        """Strings stay strings; currency defaults to the business's; at least one name or email [U]."""
        for key in TEXT_FIELDS:
            text(body, key, "client")
        currency_field(body, "currency_code", "client")
        if record is None:
            body.setdefault("currency_code", writer.business.currency)
            body.setdefault("language", "en")
        if not any((body.get(key) or "").strip() for key in IDENTIFYING):
            # [U] FreshBooks' rule is unpublished; a client with no name and no email is refused here.
            raise errors.required("client", "organization")
        return body

    def render(self, business, record, includes=frozenset()):
        """The client as FreshBooks returns it (unset text fields read back as "")."""
        out = self.base(business, record)
        for key in TEXT_FIELDS:
            value = record.body.get(key)
            out[key] = value if value is not None else ("" if key not in ("vat_name", "vat_number") else None)
        out.update({"currency_code": record.body.get("currency_code"), "role": "client", "level": 0,
                    "signup_date": money.stamp(record.created), "notified": False, "num_logins": 0,
                    "allow_late_fees": True, "allow_late_notifications": True})
        if "outstanding_balance" in includes:
            out["outstanding_balance"] = outstanding_balance(business, record)
        return out


def outstanding_balance(business, client) -> list[dict]:
    """What the client owes on sent invoices, one entry per currency [V] shape: FB-SDK making_calls.md."""
    totals: dict[str, Decimal] = {}
    for invoice in business.live("invoice"):
        if invoice.body["customerid"] != client.id or not invoice.meta.get("sent"):
            continue
        figures = invoice_figures(business, invoice)
        code = invoice.body["currency_code"]
        totals[code] = totals.get(code, Decimal("0")) + figures["outstanding"]
    return [{"amount": money.money(amount, code)} for code, amount in sorted(totals.items()) if amount]


CLIENTS = Clients()
