"""The QuickBooks Online ledger: the uniform verbs of `bridge.ledgers.base.Ledger` over one company."""

from __future__ import annotations

from decimal import Decimal

from bridge.errors import LedgerRejected, StaleObject, UncertainOutcome
from bridge.ledgers.base import (BatchItem, BatchResult, Context, Ledger, LedgerRef, Preview, Written, money,
                                 totals_warnings)
from bridge.ledgers.quickbooks import changes, facts
from bridge.ledgers.quickbooks.client import Client
from bridge.ledgers.quickbooks.mapping import (
    SOURCE_NOTE, account_from_qbo, allocation_payload, company_from_qbo, credit_memo_from_qbo, credit_memo_payload,
    item_from_qbo, item_payload, tax_code_from_qbo,
    customer_from_qbo, customer_payload, fault_errors, invoice_from_qbo, invoice_payload, needs_default_item,
    payment_from_qbo, payment_payload, source_external_id, appended_private_note, merged_private_note)
from bridge.ledgers.quickbooks.mapping import applied_payments
from bridge.ledgers.quickbooks.oauth import OAuth

STALE_SUFFIX = "-r"
"""requestid suffix of the one retry after a stale SyncToken (a new body needs a new id)."""
ALLOCATION_SUFFIX = "-a{}"
"""requestid suffix of the Payment that applies a credit memo to its n-th invoice."""


def escape(value) -> str:
    """A value for a QBO query string literal: single quotes escaped as \\'."""
    return str(value).replace("'", "\\'")


class Adapter(Ledger):
    """QuickBooks Online over one company (realm); writes are exactly-once through requestid."""

    name = "quickbooks"
    capabilities = ("customers", "invoices", "payments", "credit_notes", "void_invoice", "find_invoices",
                    "tenant_info", "request_id", "notes")
    RATE_LIMITS = {"second": (facts.REQUESTS_PER_SECOND, 1.0), "minute": (facts.REQUESTS_PER_MINUTE, 60.0),
                   "batch-minute": (facts.BATCH_REQUESTS_PER_MINUTE, 60.0)}
    CONCURRENT_REQUESTS = facts.CONCURRENT_REQUESTS
    BATCH_MAX = facts.BATCH_MAX
    BATCH_RESERVE = ("minute", "batch-minute")

    def __init__(self, context: Context, client: Client | None = None):
        super().__init__(context)
        self.oauth = OAuth(context.settings)
        self.client = client or Client(context, self.oauth)
        self._company: dict | None = None

    # --- company facts -----------------------------------------------------------------------------
    @property
    def company(self) -> dict:
        """The stored tenant_info (context.tenant_extra), fetched from QBO when it was never stored."""
        if self._company is None:
            extra = self.context.tenant_extra or {}
            self._company = dict(extra) if extra.get("country") else self.tenant_info()
        return self._company

    def _company_for(self, document: dict) -> dict:
        """Company facts plus the default item, looked up only when a line needs it."""
        company = dict(self.company)
        if needs_default_item(document, self.context.mapping) and not company.get("default_item"):
            company["default_item"] = self._company["default_item"] = self._default_item()
        return company

    def _default_item(self) -> str | None:
        """The company's default service item: "Services" if it exists, else any service item."""
        found = self.client.query(
            f"select * from Item where Name = '{escape(facts.DEFAULT_ITEM_NAME)}'").get("Item") or []
        if not found:
            found = self.client.query("select * from Item where Type = 'Service' MAXRESULTS 1").get("Item") or []
        return found[0]["Id"] if found else None

    def tenant_info(self) -> dict:
        """CompanyInfo + Preferences: {id, name, country, home_currency, uses_sales_tax, ...}."""
        realm = self.context.tenant_id
        info = self.client.get(f"companyinfo/{realm}").get("CompanyInfo") or {}
        preferences = self.client.get("preferences").get("Preferences") or {}
        company = company_from_qbo(realm, info, preferences)
        company["default_item"] = self._default_item()
        return company

    # --- entity plumbing -----------------------------------------------------------------------------
    def _read(self, entity: str, ledger_id: str) -> dict:
        """GET one entity by Id."""
        return self.client.get(f"{entity.lower()}/{ledger_id}").get(entity) or {}

    def _create(self, entity: str, body: dict, request_id: str) -> dict:
        """POST a new entity with its requestid."""
        return self.client.post(entity.lower(), body, request_id).get(entity) or {}

    def _update(self, entity: str, ledger_id: str, fields: dict, request_key: str, *, sparse: bool = True,
                params: dict | None = None) -> dict:
        """Update with the current SyncToken; after a stale token re-read once and retry (`-r`)."""
        current = self._read(entity, ledger_id)
        try:
            return self._post_update(entity, current, fields, request_key, sparse, params)
        except StaleObject:
            current = self._read(entity, ledger_id)
            return self._post_update(entity, current, fields, request_key + STALE_SUFFIX, sparse, params)

    def _post_update(self, entity: str, current: dict, fields: dict, request_id: str, sparse: bool,
                     params: dict | None) -> dict:
        """POST one update carrying Id + SyncToken of `current`."""
        body = self._update_body(current, fields, sparse)
        return self.client.post(entity.lower(), body, request_id, params=params).get(entity) or {}

    @staticmethod
    def _update_body(current: dict, fields: dict, sparse: bool) -> dict:
        """The body of an update: Id + SyncToken of `current`, the fields, notes already there kept."""
        if fields.get("PrivateNote") and current.get("PrivateNote"):  # keep the notes already there
            fields = {**fields, "PrivateNote": merged_private_note(current["PrivateNote"], fields["PrivateNote"])}
        body = {"Id": current["Id"], "SyncToken": current["SyncToken"], **fields}
        if sparse:
            body["sparse"] = True
        return body

    @staticmethod
    def _written(saved: dict, to_normalized, warnings: list[str] | None = None, **extra) -> Written:
        """A Written from the entity QBO answered with."""
        return Written(ledger_id=saved["Id"], object=to_normalized(saved), warnings=warnings or [],
                       extra={"sync_token": saved.get("SyncToken"), **extra})

    # --- verbs -----------------------------------------------------------------------------------------
    def upsert_customer(self, customer: dict, existing: LedgerRef | None, request_key: str) -> Written:
        """Update the linked customer; else link one with the same DisplayName; else create it."""
        body = customer_payload(customer, self.company if customer.get("tax_number") else None)
        if existing:
            body.pop("CurrencyRef", None)  # QBO fixes a customer's currency at creation
            body.pop("Notes", None)  # keep whatever notes the bookkeeper wrote
            return self._written(self._update("Customer", existing.ledger_id, body, request_key),
                                 customer_from_qbo)
        found = self._find_customer(customer, body)
        if found:
            saved = found[0]
            ours = source_external_id(saved.get("Notes")) == customer.get("external_id")
            warnings = [] if ours else [
                f"Linked to the existing QuickBooks customer {saved.get('DisplayName')!r} (Id {saved['Id']})"]
            return self._written(saved, customer_from_qbo, warnings)
        return self._written(self._create("Customer", body, request_key), customer_from_qbo)

    def _find_customer(self, customer: dict, body: dict) -> list[dict]:
        """Customers to link instead of creating one, as mapping.customers.match says (e-mail, then
        DisplayName; "create" looks for none, and QBO then refuses a DisplayName already taken)."""
        match = (self.context.mapping.get("customers") or {}).get("match") or ["external_id", "email", "name"]
        if match == "create":
            return []
        wanted = {"email": ("PrimaryEmailAddr", customer.get("email")), "name": ("DisplayName", body["DisplayName"])}
        for key in match:
            if key not in wanted or not wanted[key][1]:
                continue  # our external_id lives in Notes, which QBO cannot query
            field, value = wanted[key]
            found = self.client.query(f"select * from Customer where {field} = '{escape(value)}'").get("Customer")
            if found:
                return found
        return []

    def upsert_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None,
                       request_key: str) -> Written:
        """Create the invoice, or replace the fields and lines of the one already written."""
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping,
                                         self._company_for(invoice))
        if existing:
            saved = self._update("Invoice", existing.ledger_id, body, request_key)
        else:
            saved = self._create("Invoice", body, request_key)
        written = self._written(saved, invoice_from_qbo, warnings)
        written.warnings += totals_warnings(invoice.get("totals"), written.object.get("totals"))
        return written

    def upsert_invoices(self, items: list[BatchItem], batch_key: str) -> list[BatchResult]:
        """New invoices in one /batch call (requestid = the batch key); each item answers for itself."""
        if len(batch_key) > facts.BATCH_REQUEST_ID_MAX or len(items) > facts.BATCH_MAX:
            raise ValueError("a QBO batch takes at most 30 items and a requestid of at most 36 characters")
        results: dict[str, BatchResult] = {}
        requests_, bids = [], {}
        for index, item in enumerate(items):
            if item.existing is not None:
                raise ValueError("QBO batches carry new invoices only (updates need their SyncToken)")
            try:
                body, warnings = invoice_payload(item.document, item.customer.ledger_id, self.context.mapping,
                                                 self._company_for(item.document))
            except LedgerRejected as exc:
                results[item.key] = BatchResult(item.key, error=exc)
                continue
            bid = f"b{index}"
            bids[bid] = (item, warnings)
            requests_.append({"bId": bid, "operation": "create", "Invoice": body})
        if requests_:
            answer = self.client.post("batch", {"BatchItemRequest": requests_}, batch_key)
            for response in answer.get("BatchItemResponse") or []:
                item, warnings = bids[response.get("bId")]
                if "Fault" in response:
                    errors = fault_errors(response)
                    detail = "; ".join(e["message"] for e in errors if e["message"]) or "QuickBooks refused the invoice"
                    results[item.key] = BatchResult(item.key, error=LedgerRejected(detail, errors=errors))
                else:
                    written = self._written(response["Invoice"], invoice_from_qbo, warnings)
                    written.warnings += totals_warnings(item.document.get("totals"), written.object.get("totals"))
                    results[item.key] = BatchResult(item.key, written=written)
        missing = [item.key for item in items if item.key not in results]
        if missing:
            raise UncertainOutcome(f"QuickBooks batch answer lacked {len(missing)} of its items")
        return [results[item.key] for item in items]

    # --- previews (dry run) -----------------------------------------------------------------------------
    def _preview(self, entity: str, body: dict, warnings: list[str], existing: LedgerRef | None,
                 params: str = "") -> Preview:
        """A create, or an update of the current object (read for its SyncToken), as it would be POSTed."""
        if existing:
            current = self._read(entity, existing.ledger_id)
            if not current:
                raise LedgerRejected(f"QuickBooks has no {entity} {existing.ledger_id} to update")
            body = self._update_body(current, body, sparse=True)
        return Preview("POST", f"/v3/company/{self.context.tenant_id}/{entity.lower()}{params}", body, warnings)

    def preview_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The Invoice body upsert_invoice would POST."""
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping, self._company_for(invoice))
        return self._preview("Invoice", body, warnings, existing)

    def preview_credit_note(self, credit_note: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The CreditMemo body upsert_credit_note would POST (one allocation Payment per invoice follows)."""
        body, warnings = credit_memo_payload(credit_note, customer.ledger_id, self.context.mapping,
                                             self._company_for(credit_note))
        return self._preview("CreditMemo", body, warnings, existing)

    def preview_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                        existing: LedgerRef | None) -> Preview:
        """The Payment body record_payment would POST."""
        body = payment_payload(payment, invoice.ledger_id, customer.ledger_id, self.context.mapping)
        return self._preview("Payment", body, [], existing)

    def preview_customer(self, customer: dict, existing: LedgerRef | None) -> Preview:
        """The Customer body upsert_customer would POST (a customer found by DisplayName is linked instead)."""
        body = customer_payload(customer, self.company if customer.get("tax_number") else None)
        if existing:
            body.pop("CurrencyRef", None)
            body.pop("Notes", None)
        return self._preview("Customer", body, [], existing)

    def preview_void(self, invoice: LedgerRef) -> Preview:
        """The void POST: Id and SyncToken of the current invoice."""
        current = self._read("Invoice", invoice.ledger_id)
        if not current:
            raise LedgerRejected(f"QuickBooks has no Invoice {invoice.ledger_id} to void")
        return Preview("POST", f"/v3/company/{self.context.tenant_id}/invoice?operation=void",
                       self._update_body(current, {}, sparse=False), [])

    def _all(self, entity: str, where: str = "") -> list[dict]:
        """Every object of an entity (paged by QBO's 1,000-row maximum)."""
        found, start = [], 1
        while True:
            page = self.client.query(f"select * from {entity}{where} STARTPOSITION {start} "
                                     f"MAXRESULTS {facts.QUERY_MAX_RESULTS}").get(entity) or []
            found += page
            if len(page) < facts.QUERY_MAX_RESULTS:
                return found
            start += facts.QUERY_MAX_RESULTS

    def list_accounts(self) -> list[dict]:
        """The chart of accounts."""
        return [account_from_qbo(account) for account in self._all("Account")]

    def list_tax_rates(self) -> list[dict]:
        """Tax codes with their sales rates added up; a US company also takes the TAX and NON pseudo-codes."""
        rates = {rate["Id"]: money(rate.get("RateValue")) for rate in self._all("TaxRate")}
        codes = [tax_code_from_qbo(code, rates) for code in self._all("TaxCode")]
        if self.company.get("country") == facts.US and not {facts.US_TAXABLE, facts.US_NON_TAXABLE} & {
                code["id"] for code in codes}:
            codes += [{"id": pseudo, "name": pseudo, "rate": Decimal("0"), "active": True,
                       "extra": {"pseudo": True}} for pseudo in (facts.US_TAXABLE, facts.US_NON_TAXABLE)]
        return codes

    def list_items(self) -> list[dict]:
        """Products and services."""
        return [item_from_qbo(item) for item in self._all("Item")]

    def find_item(self, code: str) -> dict | None:
        """The active item named `code`, else the one whose Sku is `code` (QBO compares names without case)."""
        for field in ("Name", "Sku"):
            found = self.client.query(f"select * from Item where {field} = '{escape(code)}'").get("Item") or []
            found = [item for item in found if item.get("Active", True)]
            if found:
                return item_from_qbo(found[0])
        return None

    def create_item(self, item: dict, request_key: str) -> Written:
        """POST a Service item named by the product code (requestid makes a retry replay, not duplicate)."""
        saved = self._create("Item", item_payload(item), request_key)
        return Written(ledger_id=saved["Id"], object=item_from_qbo(saved))

    def preview_item(self, item: dict) -> Preview:
        """The Item body create_item would POST."""
        return Preview("POST", f"/v3/company/{self.context.tenant_id}/item", item_payload(item), [])

    def find_customers(self, email: str | None = None, name: str | None = None) -> list[dict]:
        """Customers by exact DisplayName and/or primary e-mail (compared without case)."""
        where = f" where DisplayName = '{escape(name)}'" if name else ""
        customers = [customer_from_qbo(customer) for customer in self._all("Customer", where)]
        if email:
            customers = [c for c in customers if (c.get("email") or "").casefold() == email.casefold()]
        return customers

    def find_invoice_ids(self, numbers: list[str]) -> dict[str, str]:
        """Ledger ids of invoices by DocNumber (one query)."""
        if not numbers:
            return {}
        listed = ", ".join(f"'{escape(number)}'" for number in numbers)
        found = self.client.query(f"select * from Invoice where DocNumber in ({listed}) "
                                  f"MAXRESULTS {facts.QUERY_MAX_RESULTS}").get("Invoice") or []
        return {invoice["DocNumber"]: invoice["Id"] for invoice in found if invoice.get("DocNumber")}

    def record_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                       existing: LedgerRef | None, request_key: str) -> Written:
        """A Payment linked to the invoice; an existing one is updated in place."""
        body = payment_payload(payment, invoice.ledger_id, customer.ledger_id, self.context.mapping)
        if existing:
            saved = self._update("Payment", existing.ledger_id, body, request_key)
        else:
            saved = self._create("Payment", body, request_key)
        return self._written(saved, payment_from_qbo)

    def upsert_credit_note(self, credit_note: dict, customer: LedgerRef,
                           allocations: list[tuple[dict, LedgerRef]], existing: LedgerRef | None,
                           request_key: str) -> Written:
        """A CreditMemo, then one TotalAmt-0 Payment per allocation linking it to the invoice."""
        body, warnings = credit_memo_payload(credit_note, customer.ledger_id, self.context.mapping,
                                             self._company_for(credit_note))
        if existing:
            saved = self._update("CreditMemo", existing.ledger_id, body, request_key)
            applied = self._invoices_credited(customer.ledger_id, saved["Id"])
        else:
            saved = self._create("CreditMemo", body, request_key)
            applied = set()
        payment_ids = []
        for index, (allocation, invoice) in enumerate(allocations):
            if invoice.ledger_id in applied:
                continue  # applied by an earlier write of this credit note
            payload = allocation_payload(
                customer.ledger_id, invoice.ledger_id, saved["Id"], allocation["amount"],
                allocation.get("date") or credit_note.get("issue_date"), credit_note.get("currency"),
                note=SOURCE_NOTE.format(credit_note["external_id"]) if credit_note.get("external_id") else None)
            payment = self._create("Payment", payload, request_key + ALLOCATION_SUFFIX.format(index))
            payment_ids.append(payment.get("Id"))
        if payment_ids:
            saved = self._read("CreditMemo", saved["Id"])  # RemainingCredit after the allocations
        return self._written(saved, credit_memo_from_qbo, warnings, allocation_payment_ids=payment_ids)

    def _invoices_credited(self, customer_id: str, credit_memo_id: str) -> set[str]:
        """Invoices this credit memo is already applied to, from the customer's payments."""
        payments = self.client.query(
            f"select * from Payment where CustomerRef = '{escape(customer_id)}' "
            f"MAXRESULTS {facts.QUERY_MAX_RESULTS}").get("Payment") or []
        credited = set()
        for payment in payments:
            linked = [txn for line in payment.get("Line") or [] for txn in line.get("LinkedTxn") or []]
            if any(txn.get("TxnType") == "CreditMemo" and txn.get("TxnId") == credit_memo_id for txn in linked):
                credited.update(txn.get("TxnId") for txn in linked if txn.get("TxnType") == "Invoice")
        return credited

    def void_invoice(self, invoice: LedgerRef, request_key: str) -> Written:
        """Void: QBO keeps the invoice, zeroes its amounts and prepends "Voided" to PrivateNote."""
        saved = self._update("Invoice", invoice.ledger_id, {}, request_key, sparse=False,
                             params={"operation": "void"})
        return self._written(saved, invoice_from_qbo)

    def add_note(self, invoice: LedgerRef, text: str, request_key: str) -> Written:
        """Append the note to the invoice's PrivateNote (a sparse update; the bookkeeper sees it, the customer not)."""
        try:
            return self._append_note(invoice, text, request_key)
        except StaleObject:  # changed meanwhile: re-read once, under a new requestid
            return self._append_note(invoice, text, request_key + STALE_SUFFIX)

    def _append_note(self, invoice: LedgerRef, text: str, request_id: str) -> Written:
        """Read the invoice and POST its PrivateNote with the note appended."""
        current = self._read("Invoice", invoice.ledger_id)
        if not current:
            raise LedgerRejected(f"QuickBooks returned no invoice {invoice.ledger_id}")
        body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True,
                "PrivateNote": appended_private_note(current.get("PrivateNote"), text)}
        return self._written(self.client.post("invoice", body, request_id).get("Invoice") or {}, invoice_from_qbo)

    def invoice_pdf(self, invoice: LedgerRef) -> bytes:
        """The invoice's PDF as the ledger renders it."""
        return self.client.get_pdf("invoice", invoice.ledger_id)

    def get_invoice(self, invoice: LedgerRef) -> dict:
        """The invoice as QBO holds it now, normalized."""
        found = self._read("Invoice", invoice.ledger_id)
        if not found:
            raise LedgerRejected(f"QuickBooks returned no invoice {invoice.ledger_id}")
        return invoice_from_qbo(found)

    def find_invoices(self, number: str | None = None, customer: LedgerRef | None = None,
                      limit: int = 50) -> list[dict]:
        """Invoices by DocNumber and/or customer, newest first."""
        where = []
        if number:
            where.append(f"DocNumber = '{escape(number)}'")
        if customer:
            where.append(f"CustomerRef = '{escape(customer.ledger_id)}'")
        statement = "select * from Invoice"
        if where:
            statement += " where " + " and ".join(where)
        statement += f" ORDERBY MetaData.CreateTime DESC MAXRESULTS {max(1, min(limit, facts.QUERY_MAX_RESULTS))}"
        return [invoice_from_qbo(found) for found in self.client.query(statement).get("Invoice") or []]

    # --- reconciliation --------------------------------------------------------------------------------
    def _by_ids(self, entity: str, ids: list[str]) -> dict[str, dict]:
        """Entities by Id, in one query per 1,000 ids (`Id IN (...)`); deleted ones are not returned."""
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(str(ledger_id) for ledger_id in ids))
        for start in range(0, len(unique), facts.QUERY_MAX_RESULTS):
            listed = ", ".join(f"'{escape(ledger_id)}'" for ledger_id in unique[start:start + facts.QUERY_MAX_RESULTS])
            rows = self.client.query(f"select * from {entity} where Id in ({listed}) "
                                     f"MAXRESULTS {facts.QUERY_MAX_RESULTS}").get(entity) or []
            found.update({str(row["Id"]): row for row in rows})
        return found

    def read_invoices(self, invoices: list[LedgerRef]) -> dict[str, dict | None]:
        """Invoices by Id (one query), their linked Payments (one more), normalized with `payments`."""
        rows = self._by_ids("Invoice", [ref.ledger_id for ref in invoices])
        payment_ids = [link["TxnId"] for row in rows.values() for link in row.get("LinkedTxn") or []
                       if link.get("TxnType") == "Payment"]
        payments = list(self._by_ids("Payment", payment_ids).values()) if payment_ids else []
        result: dict[str, dict | None] = {}
        for ref in invoices:
            row = rows.get(str(ref.ledger_id))
            if row is None:
                result[ref.ledger_id] = None
                continue
            linked = {str(link["TxnId"]) for link in row.get("LinkedTxn") or [] if link.get("TxnType") == "Payment"}
            result[ref.ledger_id] = {**invoice_from_qbo(row), "payments": applied_payments(
                row["Id"], [payment for payment in payments if str(payment.get("Id")) in linked])}
        return result

    def read_credit_notes(self, credit_notes: list[LedgerRef]) -> dict[str, dict | None]:
        """Credit memos by Id, in one query."""
        rows = self._by_ids("CreditMemo", [ref.ledger_id for ref in credit_notes])
        return {ref.ledger_id: credit_memo_from_qbo(rows[str(ref.ledger_id)]) if str(ref.ledger_id) in rows else None
                for ref in credit_notes}

    # --- change reading (events) -----------------------------------------------------------------------
    def read_objects(self, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
        """Invoices, payments, customers or credit memos by Id, in `Id IN (...)` queries."""
        return changes.read_objects(self, object, ledger_ids)

    def changes_since(self, checkpoint, now):
        """What changed since the checkpoint: /cdc within its 30 days, else a query."""
        return changes.changes_since(self, checkpoint, now)
