"""Items (`items/items`) and taxes (`taxes/taxes`): the business's billable items and tax definitions.

Taxes: `name`, `amount` (a percentage string), `number` (registration number), `compound`; they take a
real DELETE [V] FB-SDK test_accounting_resource.py (DELETE answers `{"response": {}}`).
Items need scope user:billable_items:read / :write [V] freshbooks.com/api/scopes object list.
"""

from __future__ import annotations

from . import errors, money, query
from .common import Kind, boolean, currency_field, integer, text
from .money import BadValue


class Items(Kind):
    """items/items."""

    entity = single = "item"
    plural = "items"
    path = "items/items"
    scope = "billable_items"
    id_field = "itemid"
    fields = frozenset({"name", "description", "qty", "unit_cost", "inventory", "sku", "tax1", "tax2"})
    filters = {
        **query.standard_filters(),
        "name": query.equals(lambda b, r: r.body.get("name"), "fold"),
        "name_like": query.like(lambda b, r: r.body.get("name")),
        "sku": query.equals(lambda b, r: r.body.get("sku")),
        "itemids": query.in_list(lambda b, r: r.id),
    }

    def prepare(self, writer, body, record):
        """A name is required; qty and unit cost are numbers; tax1/tax2 name defined taxes."""
        if not body.get("name"):
            raise errors.required("item", "name")
        for key in ("name", "description", "sku"):
            text(body, key, "item")
        try:
            body["qty"] = money.to_decimal(body["qty"]) if body.get("qty") is not None else money.to_decimal(0)
            cost = body.get("unit_cost")
            if isinstance(cost, dict):
                currency_field(cost, "code", "item")
            body["unit_cost"] = money.round_cents(money.money_input(cost)) if cost is not None else \
                money.to_decimal("0.00")
        except BadValue as error:
            raise errors.invalid("item", "unit_cost", None, f"qty and unit_cost must be numbers: {error}") from None
        integer(body, "inventory", "item", minimum=0)
        for key in ("tax1", "tax2"):
            if body.get(key) in (None, 0, "0", ""):
                body[key] = None
                continue
            if writer.business.usable("tax", integer(body, key, "item")) is None:
                raise errors.not_found("tax", key, body[key], status=422)
        return body

    def render(self, business, record, includes=frozenset()):
        """The item; unit costs are in the business's currency."""
        body = record.body
        out = self.base(business, record)
        out.update({"name": body["name"], "description": body.get("description") or "",
                    "qty": money.number_out(body["qty"]), "unit_cost": money.money(body["unit_cost"],
                                                                                  business.currency),
                    "inventory": body.get("inventory"), "sku": body.get("sku"), "tax1": body.get("tax1"),
                    "tax2": body.get("tax2")})
        return out


class Taxes(Kind):
    """taxes/taxes."""

    entity = single = "tax"
    plural = "taxes"
    path = "taxes/taxes"
    scope = "taxes"
    id_field = "taxid"
    http_delete = "hard"
    fields = frozenset({"name", "amount", "number", "compound"})
    filters = {
        **query.standard_filters(),
        "name": query.equals(lambda b, r: r.body.get("name"), "fold"),
        "taxids": query.in_list(lambda b, r: r.id),
    }

    def prepare(self, writer, body, record):
        """A name and a percentage are required."""
        if not body.get("name"):
            raise errors.required("tax", "name")
        text(body, "name", "tax", 100)
        text(body, "number", "tax", 100)
        if body.get("amount") is None:
            raise errors.required("tax", "amount")
        try:
            body["amount"] = money.percent(body["amount"])
        except BadValue as error:
            raise errors.invalid("tax", "amount", body["amount"], f"amount must be a percentage: {error}") from None
        boolean(body, "compound", "tax")
        body["compound"] = bool(body.get("compound"))
        return body

    def render(self, business, record, includes=frozenset()):
        """The tax; `amount` is a percentage string."""
        body = record.body
        out = self.base(business, record)
        out.update({"name": body["name"], "amount": money.decimal_text(body["amount"]),
                    "number": body.get("number"), "compound": body.get("compound", False)})
        return out


ITEMS = Items()
TAXES = Taxes()
