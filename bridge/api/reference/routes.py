"""The ledger's reference data: accounts, tax rates, items and customers, for mappings and pickers."""

from __future__ import annotations

import json

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc
from bridge.api.reference.schemas import (
    AccountListSchema, CustomerSearchArgsSchema, ItemListSchema, LedgerCustomerListSchema, ReferenceArgsSchema,
    TaxRateListSchema,
)
from bridge.sync import reference
from bridge.sync.reads import owned_connection

blp = Blueprint("reference", __name__, url_prefix="/v1/connections",
                description="The ledger's reference data (accounts, tax rates, items, customers), cached")

SEARCHED = ("id", "code", "name")


def _position(item: dict, key: str) -> list[str]:
    """Where an item sorts: by name without case, then by its id."""
    return [str(item.get("name") or "").casefold(), str(item.get(key) or "")]


def paged(items: list[dict], args: dict, key: str = "id") -> dict:
    """One page of a list sorted by name: `?after=` is the position of the last item seen."""
    items = sorted(items, key=lambda item: _position(item, key))
    if args.get("after"):
        try:
            after = json.loads(common.decode_cursor(args["after"]))
        except ValueError:
            after = None
        if not (isinstance(after, list) and len(after) == 2 and all(isinstance(part, str) for part in after)):
            raise errors.ValidationFailed("Bad cursor.", errors=[{"field": "after", "message": "Not a cursor."}])
        items = [item for item in items if _position(item, key) > after]
    limit = args["limit"]
    return {"data": items[:limit],
            "next": common.encode_cursor(json.dumps(_position(items[limit - 1], key))) if len(items) > limit else None}


def searched(items: list[dict], query: str | None) -> list[dict]:
    """Items whose id, code or name contains `query` (without case)."""
    if not query:
        return items
    wanted = query.casefold()
    return [item for item in items if any(wanted in str(item.get(name) or "").casefold() for name in SEARCHED)]


def _reference_route(path: str, kind: str, schema, operation_id: str, summary: str, description: str):
    """GET /<connection_id>/<path>: one kind of reference data, cached, searchable, paged."""

    def get(self, args, connection_id):
        connection = owned_connection(principal().account_id, connection_id)
        items = reference.reference_list(current_app._get_current_object(), connection, kind,
                                         refresh=args["refresh"])
        return paged(searched(items, args.get("q")), args)

    get.__doc__ = f"{summary}\n\n{description}"
    get = blp.doc(operationId=operation_id)(blp.arguments(ReferenceArgsSchema, location="query")(
        blp.response(200, schema)(errors_doc(blp, 401, 404, 409, 422, 503)(get))))
    name = operation_id[0].upper() + operation_id[1:]
    blp.route(path)(type(name, (MethodView,), {"get": get, "__doc__": summary}))


CACHE_NOTE = ("Cached per connection for REFERENCE_CACHE_SECONDS (15 minutes by default); `refresh=true` reads "
              "the ledger again. Sorted by name; `q` searches id, code and name. A ledger that does not answer "
              "is a 503; a connection that is pending, paused or needs authorizing again is a 409.")
_reference_route("/<connection_id>/accounts", "accounts", AccountListSchema, "listAccounts",
                 "List the ledger's accounts",
                 "The chart of accounts; `id` is what a mapping names as an income or payment account. " + CACHE_NOTE)
_reference_route("/<connection_id>/tax-rates", "tax_rates", TaxRateListSchema, "listTaxRates",
                 "List the ledger's tax rates",
                 "Tax codes usable on sales; `id` is what `tax_categories` and `defaults.tax_code` name. " + CACHE_NOTE)
_reference_route("/<connection_id>/items", "items", ItemListSchema, "listItems",
                 "List the ledger's items",
                 "Products and services; `id` is what `products.<code>.item` names. " + CACHE_NOTE)


@blp.route("/<connection_id>/customers")
class LedgerCustomers(MethodView):
    """Customers as the ledger holds them."""

    @blp.doc(operationId="listLedgerCustomers")
    @blp.arguments(CustomerSearchArgsSchema, location="query")
    @blp.response(200, LedgerCustomerListSchema)
    @errors_doc(blp, 401, 404, 409, 422, 503)
    def get(self, args, connection_id):
        """Find customers in the ledger

        Searched at the ledger by exact `email` and/or `name` (all customers without either), sorted by
        name, each with the `external_id` we wrote it under when we did. Answers are kept a minute
        (`refresh=true` reads the ledger again).
        """
        connection = owned_connection(principal().account_id, connection_id)
        found = reference.customers(current_app._get_current_object(), connection, email=args.get("email"),
                                    name=args.get("name"), refresh=args["refresh"])
        return paged(found, args, key="ledger_id")
