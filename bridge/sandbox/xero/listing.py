"""GET on Xero's collections: the filter fields each one takes and how a page of it is built.

Lists show what the spec documents: `IDs`, `InvoiceNumbers`, `ContactIDs`, `Statuses`, `where`, `order`,
`page` (100 a page, `pageSize` up to 1000, with the `pagination` object), `If-Modified-Since`,
`summaryOnly`, `searchTerm`, `includeArchived`. Invoices and credit notes carry their LineItems when
the list is paged (spec `page`: "with line items shown for each invoice"); an unpaged list leaves
them out, as Xero's unpaged invoice lists do, and GET by id always has them.
"""

from __future__ import annotations

from . import contacts, documents, payments, query, reference
from .documents import CREDIT_NOTE, INVOICE, outstanding
from .errors import query_parse
from .store import Tenant
from .wire import parse_since

F = query.Field


def _contact_name(tenant: Tenant, contact_id: str):
    record = tenant.get("Contact", contact_id)
    return record.body.get("Name") if record is not None else None


def _document_fields(kind) -> dict:
    fields = {
        "Type": F("text", lambda t, r: r.body["Type"]),
        "Status": F("text", lambda t, r: r.body["Status"]),
        kind.number_field: F("text", lambda t, r: r.body.get(kind.number_field)),
        kind.id_field: F("guid", lambda t, r: r.id),
        "Reference": F("text", lambda t, r: r.body.get("Reference")),
        "Contact.ContactID": F("guid", lambda t, r: r.body["_contact"]),
        "Contact.Name": F("text", lambda t, r: _contact_name(t, r.body["_contact"])),
        "Date": F("date", lambda t, r: r.body["Date"]),
        "DueDate": F("date", lambda t, r: r.body.get("DueDate")),
        "UpdatedDateUTC": F("datetime", lambda t, r: r.updated),
        "CurrencyCode": F("text", lambda t, r: r.body["CurrencyCode"]),
        "SubTotal": F("number", lambda t, r: r.body["SubTotal"]),
        "TotalTax": F("number", lambda t, r: r.body["TotalTax"]),
        "Total": F("number", lambda t, r: r.body["Total"]),
        "SentToContact": F("bool", lambda t, r: bool(r.body.get("SentToContact"))),
    }
    balance = "AmountDue" if kind is INVOICE else "RemainingCredit"
    fields[balance] = F("number", lambda t, r: outstanding(t, r))
    if kind is INVOICE:
        fields["AmountPaid"] = F("number", lambda t, r: documents.amount_paid(t, r))
        fields["AmountCredited"] = F("number", lambda t, r: documents.amount_allocated(t, r))
    return fields


INVOICE_FIELDS = _document_fields(INVOICE)
CREDIT_NOTE_FIELDS = _document_fields(CREDIT_NOTE)
CONTACT_FIELDS = {
    key: F("text", lambda t, r, key=key: r.body.get(key))
    for key in ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber", "AccountNumber", "ContactStatus",
                "TaxNumber", "CompanyNumber", "DefaultCurrency")}
CONTACT_FIELDS.update({"ContactID": F("guid", lambda t, r: r.id),
                       "IsCustomer": F("bool", lambda t, r: bool(r.body.get("_customer"))),
                       "IsSupplier": F("bool", lambda t, r: bool(r.body.get("_supplier"))),
                       "UpdatedDateUTC": F("datetime", lambda t, r: r.updated)})
PAYMENT_FIELDS = {
    "PaymentID": F("guid", lambda t, r: r.id),
    "Status": F("text", lambda t, r: r.body["Status"]),
    "PaymentType": F("text", lambda t, r: r.body["PaymentType"]),
    "Reference": F("text", lambda t, r: r.body.get("Reference")),
    "Date": F("date", lambda t, r: r.body["Date"]),
    "Amount": F("number", lambda t, r: r.body["Amount"]),
    "IsReconciled": F("bool", lambda t, r: bool(r.body.get("IsReconciled"))),
    "UpdatedDateUTC": F("datetime", lambda t, r: r.updated),
    "Invoice.InvoiceID": F("guid", lambda t, r: r.body["_document"] if r.body["_document_entity"] == "Invoice"
                           else None),
    "Invoice.InvoiceNumber": F("text", lambda t, r: _document_number(t, r)),
    "CreditNote.CreditNoteID": F("guid", lambda t, r: r.body["_document"]
                                 if r.body["_document_entity"] == "CreditNote" else None),
    "Account.AccountID": F("guid", lambda t, r: r.body["_account"]),
    "Account.Code": F("text", lambda t, r: _account_code(t, r.body["_account"])),
}
ACCOUNT_FIELDS = {key: F("text", lambda t, r, key=key: r.body.get(key))
                  for key in ("Code", "Name", "Type", "Status", "Class", "TaxType", "BankAccountType",
                              "ReportingCode", "CurrencyCode")}
ACCOUNT_FIELDS.update({"AccountID": F("guid", lambda t, r: r.id),
                       "EnablePaymentsToAccount": F("bool", lambda t, r: bool(r.body.get("EnablePaymentsToAccount"))),
                       "UpdatedDateUTC": F("datetime", lambda t, r: r.updated)})
TAX_RATE_FIELDS = {key: F("text", lambda t, r, key=key: r.body.get(key))
                   for key in ("Name", "TaxType", "Status", "ReportTaxType")}
TAX_RATE_FIELDS.update({"EffectiveRate": F("number", lambda t, r: r.body["EffectiveRate"]),
                        "CanApplyToRevenue": F("bool", lambda t, r: r.body["CanApplyToRevenue"]),
                        "CanApplyToExpenses": F("bool", lambda t, r: r.body["CanApplyToExpenses"])})
ITEM_FIELDS = {key: F("text", lambda t, r, key=key: r.body.get(key)) for key in ("Code", "Name", "Description")}
ITEM_FIELDS.update({"ItemID": F("guid", lambda t, r: r.id),
                    "IsSold": F("bool", lambda t, r: bool(r.body.get("IsSold"))),
                    "IsPurchased": F("bool", lambda t, r: bool(r.body.get("IsPurchased"))),
                    "UpdatedDateUTC": F("datetime", lambda t, r: r.updated)})


def _document_number(tenant: Tenant, payment):
    document = tenant.get(payment.body["_document_entity"], payment.body["_document"])
    if document is None:
        return None
    return document.body.get("InvoiceNumber") or document.body.get("CreditNoteNumber")


def _account_code(tenant: Tenant, account_id: str):
    account = tenant.get("Account", account_id)
    return account.body.get("Code") if account is not None else None


class ListRequest:
    """The query parameters and headers of one GET on a collection."""

    def __init__(self, args, headers):
        self.args = args
        self.headers = headers

    def arg(self, name: str) -> str | None:
        """A query parameter, its name matched without regard to case (Xero's are case-insensitive)."""
        if name in self.args:
            return self.args.get(name)
        lowered = name.lower()
        return next((value for key, value in self.args.items() if key.lower() == lowered), None)

    def flag(self, name: str) -> bool:
        """A boolean query parameter."""
        return (self.arg(name) or "").strip().lower() == "true"

    @property
    def unitdp(self) -> int:
        """4 when the request opted in to four decimal places on unit amounts."""
        return 4 if (self.arg("unitdp") or "").strip() == "4" else 2


def select(tenant: Tenant, records: list, req: ListRequest, fields: dict, collection: str) -> tuple[list, dict | None]:
    """Apply where, If-Modified-Since, order and paging; returns the records and the pagination (or None)."""
    predicate = query.where(req.arg("where"), fields, collection)
    if predicate is not None:
        records = [r for r in records if predicate(tenant, r)]
    since = req.headers.get("If-Modified-Since")
    if since:
        try:
            moment = parse_since(since)
        except ValueError as error:
            raise query_parse(str(error)) from None
        # Records created or modified since the timestamp (inclusive, so a poll never misses one).
        records = [r for r in records if r.updated >= moment]
    records = query.order(records, req.arg("order"), fields, tenant, collection)
    page_number = query.positive_int(req.arg("page"), "page")
    page_size = query.positive_int(req.arg("pageSize"), "pageSize", query.MAX_PAGE_SIZE)
    if page_number is None and page_size is None:
        return records, None
    return query.page(records, page_number or 1, page_size or query.PAGE_SIZE)


def _in(values: list[str] | None, value) -> bool:
    return values is None or (value or "").lower() in {v.lower() for v in values}


def invoices(tenant: Tenant, req: ListRequest, kind=INVOICE) -> dict:
    """GET /Invoices (and /CreditNotes with kind=CREDIT_NOTE)."""
    fields = INVOICE_FIELDS if kind is INVOICE else CREDIT_NOTE_FIELDS
    records = tenant.all(kind.entity)
    ids = query.comma_list(req.arg("IDs"))
    numbers = query.comma_list(req.arg("InvoiceNumbers")) if kind is INVOICE else None
    contact_ids = query.comma_list(req.arg("ContactIDs")) if kind is INVOICE else None
    statuses = query.comma_list(req.arg("Statuses")) if kind is INVOICE else None
    search = (req.arg("searchTerm") or "").strip().lower()
    records = [r for r in records if _in(ids, r.id) and _in(numbers, r.body.get(kind.number_field))
               and _in(contact_ids, r.body["_contact"]) and _in(statuses, r.body["Status"])
               and (not search or search in (r.body.get(kind.number_field) or "").lower()
                    or search in (r.body.get("Reference") or "").lower())]
    selected, pagination = select(tenant, records, req, fields, kind.collection)
    summary = req.flag("summaryOnly")
    rendered = [documents.render(tenant, kind, r, req.unitdp, lines=pagination is not None, summary=summary)
                for r in selected]
    return _page_payload(kind.collection, rendered, pagination)


def contact_list(tenant: Tenant, req: ListRequest) -> dict:
    """GET /Contacts."""
    ids = query.comma_list(req.arg("IDs"))
    search = (req.arg("searchTerm") or "").strip().lower()
    records = [r for r in tenant.all("Contact")
               if _in(ids, r.id) and (req.flag("includeArchived") or ids is not None
                                       or r.body.get("ContactStatus") != "ARCHIVED")
               and (not search or any(search in str(r.body.get(key) or "").lower()
                                      for key in ("Name", "FirstName", "LastName", "ContactNumber",
                                                  "EmailAddress")))]
    selected, pagination = select(tenant, records, req, CONTACT_FIELDS, "Contacts")
    summary = req.flag("summaryOnly")
    return _page_payload("Contacts", [contacts.render(tenant, r, summary=summary) for r in selected], pagination)


def payment_list(tenant: Tenant, req: ListRequest) -> dict:
    """GET /Payments."""
    selected, pagination = select(tenant, tenant.all("Payment"), req, PAYMENT_FIELDS, "Payments")
    return _page_payload("Payments", [payments.render(tenant, r) for r in selected], pagination)


def account_list(tenant: Tenant, req: ListRequest) -> dict:
    """GET /Accounts."""
    selected, _ = select(tenant, tenant.all("Account"), req, ACCOUNT_FIELDS, "Accounts")
    return {"Accounts": [reference.render_account(tenant, r) for r in selected]}


def tax_rate_list(tenant: Tenant, req: ListRequest) -> dict:
    """GET /TaxRates."""
    selected, _ = select(tenant, tenant.all("TaxRate"), req, TAX_RATE_FIELDS, "TaxRates")
    return {"TaxRates": [reference.render_tax_rate(tenant, r) for r in selected]}


def item_list(tenant: Tenant, req: ListRequest) -> dict:
    """GET /Items."""
    selected, _ = select(tenant, tenant.all("Item"), req, ITEM_FIELDS, "Items")
    return {"Items": [reference.render_item(tenant, r, req.unitdp) for r in selected]}


def _page_payload(collection: str, rendered: list, pagination: dict | None) -> dict:
    if pagination is None:
        return {collection: rendered}
    return {"pagination": pagination, collection: rendered}
