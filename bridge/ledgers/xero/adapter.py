"""The Xero ledger: the uniform verbs of `bridge.ledgers.base.Ledger` over one organisation (tenant)."""

from __future__ import annotations

from urllib.parse import quote

from bridge.errors import LedgerNotFound, LedgerRejected, RetryableLedgerError, UncertainOutcome
from bridge.ledgers.base import BatchItem, BatchResult, Context, Ledger, LedgerRef, Preview, Written, totals_warnings
from bridge.ledgers.xero import changes, facts
from bridge.ledgers.xero.client import Client
from bridge.ledgers.xero.mapping import (
    account_from_xero, allocation_payload, contact_payload, credit_note_from_xero,
    credit_note_payload, customer_from_xero, element_errors, element_failed, element_warnings, invoice_from_xero,
    invoice_payload, item_from_xero, item_payload, live_allocations, organisation_from_xero, payment_from_xero,
    payment_payload, source_external_id, tax_rate_from_xero, applied_payments)
from bridge.ledgers.xero.oauth import OAuth

WRITE_PARAMS = {"summarizeErrors": False}
"""Collection writes answer 200 with each refused element marked, never one 400 for all (facts §2.3)."""
DOCUMENT_PARAMS = {"unitdp": facts.UNIT_DP}
"""Invoices and credit notes keep 4-decimal unit amounts, on the way in and back."""
REPLACEMENT_SUFFIX = "-n"
"""Idempotency-Key suffix of the new payment that replaces a deleted one (payments cannot be edited)."""
ALLOCATION_SUFFIX = "-a{}"
"""Idempotency-Key suffix of the n-th allocation of a credit note."""
BATCH_UPDATE_SUFFIX = "-u"
"""Idempotency-Key suffix of a batch's POST of its already-written members (the PUT takes the batch key)."""
DEFAULT_MATCH = ("external_id", "email", "name")
LOCKED_CREDIT_NOTE_WARNING = ("The Xero credit note is already allocated or refunded, and Xero allows no edits "
                              "then: its lines and details were left as they are")


def where_text(value) -> str:
    """A value as a string literal of Xero's `where` filter: double quotes, backslash-escaped."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Adapter(Ledger):
    """Xero over one organisation; writes are exactly-once through Idempotency-Key.

    Xero has no version token: POST updates are last-write-wins, so the sync engine's ordering per
    object is what keeps them right.
    """

    name = "xero"
    capabilities = ("customers", "invoices", "payments", "credit_notes", "void_invoice", "find_invoices", "notes",
                    "tenant_info", "batch_invoices", "line_discounts", "reference_data", "idempotency_key",
                    "draft_invoices")
    RATE_LIMITS = {"minute": (facts.REQUESTS_PER_MINUTE, 60.0), "day": (facts.REQUESTS_PER_DAY, 86400.0)}
    CONCURRENT_REQUESTS = facts.CONCURRENT_REQUESTS
    BATCH_MAX = facts.BATCH_MAX
    ITEM_ID_IS_CODE = True

    def __init__(self, context: Context, client: Client | None = None):
        super().__init__(context)
        self.oauth = OAuth(context.settings)
        self.client = client or Client(context, self.oauth)

    # --- plumbing --------------------------------------------------------------------------------------
    def _write(self, method: str, path: str, wrapper: str, elements: list[dict], key: str,
               params: dict | None = None) -> list[dict]:
        """PUT or POST `{wrapper: elements}`; the answer's elements, in the order sent."""
        call = self.client.put if method == "PUT" else self.client.post
        answer = call(path, {wrapper: elements}, key, params=params)
        return answer.get(wrapper) or []

    @staticmethod
    def _one(elements: list[dict], what: str) -> tuple[dict, list[str]]:
        """The single element of a write's answer, or LedgerRejected with its validation errors."""
        if not elements:
            raise UncertainOutcome(f"Xero answered a {what} write without the {what}")
        element = elements[0]
        if element_failed(element):
            errors = element_errors(element)
            raise LedgerRejected("; ".join(error["message"] for error in errors) or f"Xero refused the {what}",
                                 errors=errors)
        return element, element_warnings(element)

    def _get_one(self, path: str, wrapper: str, params: dict | None = None) -> dict:
        """GET /Resource/{id}: the one element, or LedgerNotFound."""
        found = self.client.get(path, params=params).get(wrapper) or []
        if not found:
            raise LedgerNotFound(f"Xero returned no {wrapper} at {path}")
        return found[0]

    # --- organisation ----------------------------------------------------------------------------------
    def tenant_info(self) -> dict:
        """The Organisation: {id (the tenant id), name, country, home_currency, pays_tax, ...}."""
        organisation = self._get_one("Organisation", "Organisations")
        return organisation_from_xero(self.context.tenant_id, organisation)

    # --- customers -------------------------------------------------------------------------------------
    def upsert_customer(self, customer: dict, existing: LedgerRef | None, request_key: str) -> Written:
        """Update the linked contact; else link one found by ContactNumber, e-mail or exact name; else create.

        An update never rewrites the contact's ContactNumber (a linked contact keeps its own code).
        """
        if existing:
            body = contact_payload(customer, with_number=False)
            saved, warnings = self._one(self._write("POST", f"Contacts/{existing.ledger_id}", "Contacts", [body],
                                                    request_key), "contact")
            return Written(saved["ContactID"], customer_from_xero(saved), warnings)
        body = contact_payload(customer)
        found, how = self._find_contact(customer, body)
        if found:
            warnings = [] if how == "external_id" else [
                f"Linked to the existing Xero contact {found.get('Name')!r} (matched by {how})"]
            return Written(found["ContactID"], customer_from_xero(found), warnings, extra={"matched_by": how})
        saved, warnings = self._one(self._write("PUT", "Contacts", "Contacts", [body], request_key, WRITE_PARAMS),
                                    "contact")
        return Written(saved["ContactID"], customer_from_xero(saved), warnings)

    def _find_contact(self, customer: dict, body: dict) -> tuple[dict | None, str | None]:
        """An active contact for this customer: by our ContactNumber, then as mapping.customers.match says
        (e-mail, then exact name, case aside: Xero keeps names unique among active contacts)."""
        match = (self.context.mapping.get("customers") or {}).get("match") or DEFAULT_MATCH
        keys = ["external_id"] + ([] if match == "create" else [key for key in match if key != "external_id"])
        wanted = {"external_id": ("ContactNumber", body.get("ContactNumber")),
                  "email": ("EmailAddress", customer.get("email")), "name": ("Name", body.get("Name"))}
        for key in keys:
            field, value = wanted[key]
            if not value:
                continue
            answer = self.client.get("Contacts", params={"where": f"{field}=={where_text(value)}", "page": 1})
            for contact in answer.get("Contacts") or []:
                same = contact.get(field) == value if key == "external_id" else \
                    (contact.get(field) or "").strip().lower() == value.strip().lower()
                if same and contact.get("ContactStatus", "ACTIVE") == "ACTIVE":
                    return contact, key
        return None, None

    def find_customers(self, email: str | None = None, name: str | None = None) -> list[dict]:
        """Active contacts, optionally by exact e-mail and/or name (first page: 100)."""
        where = []
        if email:
            where.append(f"EmailAddress=={where_text(email)}")
        if name:
            where.append(f"Name=={where_text(name)}")
        params = {"where": " AND ".join(where) or None, "page": 1}
        return [customer_from_xero(contact) for contact in self.client.get("Contacts", params=params)
                .get("Contacts") or []]

    # --- invoices --------------------------------------------------------------------------------------
    def upsert_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None,
                       request_key: str) -> Written:
        """PUT a new invoice (create only: a taken number is refused, never overwritten) or POST the
        existing one. After an uncertain attempt, an invoice already holding our number and back-reference
        is updated rather than created twice (in case Xero no longer remembers the key)."""
        if not existing and self.context.after_uncertain and invoice.get("number"):
            existing = self._ours_by_number(invoice)
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping,
                                         existing.ledger_id if existing else None)
        if existing:
            answer = self._write("POST", f"Invoices/{existing.ledger_id}", "Invoices", [body], request_key,
                                 DOCUMENT_PARAMS)
        else:
            answer = self._write("PUT", "Invoices", "Invoices", [body], request_key,
                                 {**WRITE_PARAMS, **DOCUMENT_PARAMS})
        saved, xero_warnings = self._one(answer, "invoice")
        return self._written_invoice(saved, warnings + xero_warnings, invoice)

    def _ours_by_number(self, invoice: dict) -> LedgerRef | None:
        """The live invoice with this number whose Reference names this external_id, if any."""
        found = self._invoices_by_number([invoice["number"]])
        for candidate in found:
            if source_external_id(candidate.get("Reference")) == invoice.get("external_id"):
                return LedgerRef(candidate["InvoiceID"])
        return None

    @staticmethod
    def _written_invoice(saved: dict, warnings: list[str], source: dict | None = None) -> Written:
        """A Written from the invoice Xero answered with; totals Xero computed differently from the
        `source` invoice's are warnings."""
        normalized = invoice_from_xero(saved)
        warnings = warnings + totals_warnings((source or {}).get("totals"), normalized.get("totals"))
        return Written(saved["InvoiceID"], normalized, warnings,
                       extra={"number": saved.get("InvoiceNumber"), "status": saved.get("Status")})

    def upsert_invoices(self, items: list[BatchItem], batch_key: str) -> list[BatchResult]:
        """Up to 50 invoices in (at most) two calls, one result per item in order.

        New members go in one PUT /Invoices (create only) under the batch key; members already written
        go in one POST /Invoices (with their InvoiceID) under the batch key + "-u". Both use
        summarizeErrors=false, so Xero answers 200 with each element in the order sent and marks the
        refused ones (HasErrors) instead of failing the call: a refused member gets LedgerRejected with
        its field errors, the others are written. A member whose mapping fails is refused without being
        sent. Retrying the whole batch with the same key replays both calls.
        """
        if len(items) > self.BATCH_MAX:
            raise ValueError(f"at most {self.BATCH_MAX} invoices per Xero batch, not {len(items)}")
        results: list[BatchResult | None] = [None] * len(items)
        groups: dict[str, list[tuple[int, dict, list[str]]]] = {"PUT": [], "POST": []}
        for index, item in enumerate(items):
            try:
                body, warnings = invoice_payload(item.document, item.customer.ledger_id, self.context.mapping,
                                                 item.existing.ledger_id if item.existing else None)
            except LedgerRejected as exc:
                results[index] = BatchResult(item.key, error=exc)
                continue
            groups["POST" if item.existing else "PUT"].append((index, body, warnings))
        for method, members in groups.items():
            if not members:
                continue
            key = batch_key if method == "PUT" else batch_key + BATCH_UPDATE_SUFFIX
            answer = self._batch_call(method, [body for _, body, _ in members], key)
            if len(answer) != len(members):
                raise UncertainOutcome(f"Xero answered {len(answer)} invoices for {len(members)} sent")
            for (index, _, warnings), element in zip(members, answer):
                results[index] = self._batch_result(items[index].key, element, warnings, items[index].document)
        return results  # every member has its result, in the order given

    def _batch_call(self, method: str, bodies: list[dict], key: str) -> list[dict]:
        """One batch PUT/POST; a whole-call 400 that still lists the elements is answered per element."""
        try:
            return self._write(method, "Invoices", "Invoices", bodies, key, {**WRITE_PARAMS, **DOCUMENT_PARAMS})
        except LedgerRejected as exc:
            elements = getattr(exc, "elements", None)
            if elements and len(elements) == len(bodies):
                return elements
            raise

    @staticmethod
    def _batch_result(key: str, element: dict, warnings: list[str], document: dict | None = None) -> BatchResult:
        """One member's outcome from its element of the answer."""
        if element_failed(element):
            errors = element_errors(element)
            return BatchResult(key, error=LedgerRejected(
                "; ".join(error["message"] for error in errors) or "Xero refused this invoice", errors=errors))
        if not element.get("InvoiceID"):
            return BatchResult(key, error=RetryableLedgerError(
                "Not written: Xero refused another member of the batch; send this invoice again"))
        return BatchResult(key, written=Adapter._written_invoice(element, warnings + element_warnings(element),
                                                                 document))

    def find_invoice_ids(self, numbers: list[str]) -> dict[str, str]:
        """InvoiceIDs of the live sales invoices with these numbers (after an ambiguous batch failure)."""
        return {invoice["InvoiceNumber"]: invoice["InvoiceID"] for invoice in self._invoices_by_number(numbers)}

    def _invoices_by_number(self, numbers: list[str]) -> list[dict]:
        """Live ACCREC invoices with these numbers (numbers holding a comma are asked one by one)."""
        wanted = [str(number) for number in numbers if number]
        plain = [number for number in wanted if "," not in number]
        queries = [{"InvoiceNumbers": plain[start:start + facts.BATCH_MAX]}
                   for start in range(0, len(plain), facts.BATCH_MAX)]
        queries += [{"where": f"InvoiceNumber=={where_text(number)}"} for number in wanted if "," in number]
        found = []
        for query in queries:
            params = {**query, "Statuses": [facts.DRAFT, facts.SUBMITTED, facts.AUTHORISED, facts.PAID],
                      "page": 1}
            for invoice in self.client.get("Invoices", params=params).get("Invoices") or []:
                if invoice.get("Type", facts.INVOICE_TYPE) == facts.INVOICE_TYPE and \
                        invoice.get("InvoiceNumber") in wanted and invoice.get("Status") not in (facts.VOIDED,
                                                                                                 facts.DELETED):
                    found.append(invoice)
        return found

    def void_invoice(self, invoice: LedgerRef, request_key: str) -> Written:
        """VOIDED for an approved invoice, DELETED for a draft; an invoice already gone is left as it is."""
        current = self._get_one(f"Invoices/{invoice.ledger_id}", "Invoices", DOCUMENT_PARAMS)
        if current.get("Status") in (facts.VOIDED, facts.DELETED):
            return self._written_invoice(current, [])
        status = facts.DELETED if current.get("Status") in (facts.DRAFT, facts.SUBMITTED) else facts.VOIDED
        answer = self._write("POST", f"Invoices/{invoice.ledger_id}", "Invoices",
                             [{"InvoiceID": invoice.ledger_id, "Status": status}], request_key, DOCUMENT_PARAMS)
        saved, warnings = self._one(answer, "invoice")
        return self._written_invoice(saved, warnings)

    def add_note(self, invoice: LedgerRef, text: str, request_key: str) -> Written:
        """A history record (a note) on the invoice: PUT Invoices/{id}/History under the operation's key."""
        self._write("PUT", f"Invoices/{invoice.ledger_id}/History", "HistoryRecords", [{"Details": text}],
                    request_key)
        return Written(ledger_id=invoice.ledger_id, extra={})

    def invoice_pdf(self, invoice: LedgerRef) -> bytes:
        """The invoice's PDF as the ledger renders it."""
        return self.client.get_pdf(f"Invoices/{invoice.ledger_id}")

    def get_invoice(self, invoice: LedgerRef) -> dict:
        """The invoice as Xero holds it now, normalized."""
        return invoice_from_xero(self._get_one(f"Invoices/{invoice.ledger_id}", "Invoices", DOCUMENT_PARAMS))

    def find_invoices(self, number: str | None = None, customer: LedgerRef | None = None,
                      limit: int = 50) -> list[dict]:
        """Sales invoices by number and/or contact, newest first (by invoice date)."""
        params = {"where": f"Type=={where_text(facts.INVOICE_TYPE)}", "order": "Date DESC"}
        if number:
            if "," in number:
                params["where"] += f" AND InvoiceNumber=={where_text(number)}"
            else:
                params["InvoiceNumbers"] = [number]
        if customer:
            params["ContactIDs"] = [customer.ledger_id]
        params.update(DOCUMENT_PARAMS, page=1, pageSize=max(1, min(int(limit), facts.PAGE_SIZE_MAX)))
        found = self.client.get("Invoices", params=params).get("Invoices") or []
        return [invoice_from_xero(invoice) for invoice in found[:limit]]

    # --- payments --------------------------------------------------------------------------------------
    def record_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                       existing: LedgerRef | None, request_key: str) -> Written:
        """PUT a payment on the invoice. Xero payments cannot be edited: an existing one is deleted
        (under the operation's key) and a new one written under the key + "-n"."""
        body = payment_payload(payment, invoice.ledger_id, self.context.mapping)
        key, extra = request_key, {}
        if existing:
            self._delete_payment(existing.ledger_id, request_key)
            key, extra = request_key + REPLACEMENT_SUFFIX, {"replaced": existing.ledger_id}
        saved, warnings = self._one(self._write("PUT", "Payments", "Payments", [body], key, WRITE_PARAMS),
                                    "payment")
        return Written(saved["PaymentID"], payment_from_xero(saved), warnings, extra=extra)

    def _delete_payment(self, payment_id: str, key: str) -> None:
        """POST {"Status": "DELETED"}; a payment Xero no longer has is already gone."""
        try:
            answer = self.client.post(f"Payments/{payment_id}", {"Status": facts.PAYMENT_DELETED}, key)
        except LedgerNotFound:
            return
        self._one(answer.get("Payments") or [{}], "payment deletion")

    # --- credit notes ----------------------------------------------------------------------------------
    def upsert_credit_note(self, credit_note: dict, customer: LedgerRef,
                           allocations: list[tuple[dict, LedgerRef]], existing: LedgerRef | None,
                           request_key: str) -> Written:
        """An AUTHORISED credit note, then one allocation per invoice not yet allocated (key + "-a<i>").

        Xero refuses to edit a credit note once part of it is allocated or refunded, so an existing one
        is read first: allocated, it is left as it is (with a warning) and only missing allocations are made.
        """
        body, warnings = credit_note_payload(credit_note, customer.ledger_id, self.context.mapping,
                                             existing.ledger_id if existing else None)
        saved = None
        if existing:
            saved = self._get_one(f"CreditNotes/{existing.ledger_id}", "CreditNotes", DOCUMENT_PARAMS)
            if live_allocations(saved) or saved.get("Payments"):
                warnings.append(LOCKED_CREDIT_NOTE_WARNING)
            else:
                saved = None
        if saved is None:
            if existing:
                answer = self._write("POST", f"CreditNotes/{existing.ledger_id}", "CreditNotes", [body],
                                     request_key, DOCUMENT_PARAMS)
            else:
                answer = self._write("PUT", "CreditNotes", "CreditNotes", [body], request_key,
                                     {**WRITE_PARAMS, **DOCUMENT_PARAMS})
            saved, xero_warnings = self._one(answer, "credit note")
            warnings += xero_warnings
        credit_note_id = saved["CreditNoteID"]
        allocated = {(allocation.get("Invoice") or {}).get("InvoiceID") for allocation in live_allocations(saved)}
        allocation_ids = []
        for index, (allocation, invoice) in enumerate(allocations):
            if invoice.ledger_id in allocated:
                continue  # allocated by an earlier write of this credit note
            allocation_ids.append(self._allocate(credit_note_id, index, allocation, invoice,
                                                 allocation.get("date") or credit_note.get("issue_date"),
                                                 request_key + ALLOCATION_SUFFIX.format(index)))
        if allocation_ids:
            saved = self._get_one(f"CreditNotes/{credit_note_id}", "CreditNotes", DOCUMENT_PARAMS)
        return Written(credit_note_id, credit_note_from_xero(saved), warnings,
                       extra={"number": saved.get("CreditNoteNumber"), "allocation_ids": allocation_ids})

    def _allocate(self, credit_note_id: str, index: int, allocation: dict, invoice: LedgerRef, when,
                  key: str) -> str | None:
        """PUT one Allocation; its refusal names allocations[index]."""
        body = allocation_payload(invoice.ledger_id, allocation["amount"], when, f"allocations[{index}].amount")
        try:
            answer = self._write("PUT", f"CreditNotes/{credit_note_id}/Allocations", "Allocations", [body], key,
                                 WRITE_PARAMS)
            saved, _ = self._one(answer, "allocation")
        except LedgerRejected as exc:
            for error in exc.errors:
                if error.get("field", "").startswith("allocations."):
                    error["field"] = f"allocations[{index}]." + error["field"].removeprefix("allocations.")
                elif not error.get("field") or error["field"] in ("amount", "issue_date", "status"):
                    error["field"] = f"allocations[{index}]"
            raise
        return saved.get("AllocationID")

    # --- previews (dry run) -----------------------------------------------------------------------------
    def preview_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The Invoices element upsert_invoice would PUT (new) or POST (existing)."""
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping,
                                         existing.ledger_id if existing else None)
        if existing:
            return Preview("POST", f"/Invoices/{existing.ledger_id}?unitdp={facts.UNIT_DP}", {"Invoices": [body]},
                           warnings)
        return Preview("PUT", f"/Invoices?summarizeErrors=false&unitdp={facts.UNIT_DP}", {"Invoices": [body]},
                       warnings)

    def preview_credit_note(self, credit_note: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The CreditNotes element upsert_credit_note would send (allocations follow it)."""
        body, warnings = credit_note_payload(credit_note, customer.ledger_id, self.context.mapping,
                                             existing.ledger_id if existing else None)
        if existing:
            return Preview("POST", f"/CreditNotes/{existing.ledger_id}?unitdp={facts.UNIT_DP}",
                           {"CreditNotes": [body]}, warnings)
        return Preview("PUT", f"/CreditNotes?summarizeErrors=false&unitdp={facts.UNIT_DP}", {"CreditNotes": [body]},
                       warnings)

    def preview_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                        existing: LedgerRef | None) -> Preview:
        """The Payments element record_payment would PUT (an existing payment is deleted first)."""
        body = payment_payload(payment, invoice.ledger_id, self.context.mapping)
        warnings = [f"Xero payments cannot be edited: payment {existing.ledger_id} would be deleted and "
                    "written again"] if existing else []
        return Preview("PUT", "/Payments?summarizeErrors=false", {"Payments": [body]}, warnings)

    def preview_customer(self, customer: dict, existing: LedgerRef | None) -> Preview:
        """The Contacts element upsert_customer would send (a matching contact is linked instead)."""
        if existing:
            return Preview("POST", f"/Contacts/{existing.ledger_id}",
                           {"Contacts": [contact_payload(customer, with_number=False)]}, [])
        return Preview("PUT", "/Contacts?summarizeErrors=false", {"Contacts": [contact_payload(customer)]}, [])

    def preview_void(self, invoice: LedgerRef) -> Preview:
        """VOIDED for an approved invoice, DELETED for a draft (the invoice is read for its status)."""
        current = self._get_one(f"Invoices/{invoice.ledger_id}", "Invoices", DOCUMENT_PARAMS)
        if current.get("Status") in (facts.VOIDED, facts.DELETED):
            return Preview("NONE", f"/Invoices/{invoice.ledger_id}", None,
                           [f"The invoice is already {current['Status']} in Xero: nothing would be sent"])
        status = facts.DELETED if current.get("Status") in (facts.DRAFT, facts.SUBMITTED) else facts.VOIDED
        return Preview("POST", f"/Invoices/{invoice.ledger_id}?unitdp={facts.UNIT_DP}",
                       {"Invoices": [{"InvoiceID": invoice.ledger_id, "Status": status}]}, [])

    # --- reference data ----------------------------------------------------------------------------------
    def list_accounts(self) -> list[dict]:
        """The chart of accounts (id = Code, else AccountID)."""
        return [account_from_xero(account) for account in self.client.get("Accounts").get("Accounts") or []]

    def list_tax_rates(self) -> list[dict]:
        """Tax rates usable on sales (id = TaxType, rate = EffectiveRate percent)."""
        rates = [tax_rate_from_xero(rate) for rate in self.client.get("TaxRates").get("TaxRates") or []]
        return [rate for rate in rates if rate["extra"]["sales"]]

    def list_items(self) -> list[dict]:
        """Products and services (id = Code)."""
        return [item_from_xero(item) for item in self.client.get("Items").get("Items") or []]

    def find_item(self, code: str) -> dict | None:
        """The item with this Code (GET /Items/{ItemID or Code}; Xero compares codes without case)."""
        try:
            return item_from_xero(self._get_one(f"Items/{quote(code.strip(), safe='')}", "Items"))
        except LedgerNotFound:
            return None

    def create_item(self, item: dict, request_key: str) -> Written:
        """PUT a new Item (create only: a taken Code is refused) under its Idempotency-Key."""
        saved, warnings = self._one(self._write("PUT", "Items", "Items", [item_payload(item)], request_key,
                                                WRITE_PARAMS), "item")
        return Written(saved["Code"], item_from_xero(saved), warnings)

    def preview_item(self, item: dict) -> Preview:
        """The Items element create_item would PUT."""
        return Preview("PUT", "/Items?summarizeErrors=false", {"Items": [item_payload(item)]}, [])

    # --- reconciliation --------------------------------------------------------------------------------
    def _by_ids(self, path: str, wrapper: str, id_field: str, ids: list[str]) -> dict[str, dict]:
        """Documents by id, any status, in one GET per 50 ids (`IDs=` comma list, paged: with lines)."""
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(str(ledger_id) for ledger_id in ids))
        for start in range(0, len(unique), facts.BATCH_MAX):
            params = {"IDs": unique[start:start + facts.BATCH_MAX], "page": 1, **DOCUMENT_PARAMS}
            for element in self.client.get(path, params=params).get(wrapper) or []:
                found[str(element.get(id_field)).lower()] = element
        return found

    def read_invoices(self, invoices: list[LedgerRef]) -> dict[str, dict | None]:
        """Invoices by InvoiceID (a DELETED or VOIDED one reads back as void), with their payments."""
        rows = self._by_ids("Invoices", "Invoices", "InvoiceID", [ref.ledger_id for ref in invoices])
        result: dict[str, dict | None] = {}
        for ref in invoices:
            row = rows.get(str(ref.ledger_id).lower())
            result[ref.ledger_id] = None if row is None else {**invoice_from_xero(row), "payments": applied_payments(row)}
        return result

    def read_credit_notes(self, credit_notes: list[LedgerRef]) -> dict[str, dict | None]:
        """Credit notes by CreditNoteID."""
        rows = self._by_ids("CreditNotes", "CreditNotes", "CreditNoteID", [ref.ledger_id for ref in credit_notes])
        return {ref.ledger_id: credit_note_from_xero(rows[str(ref.ledger_id).lower()])
                if str(ref.ledger_id).lower() in rows else None for ref in credit_notes}

    # --- change reading (events) -----------------------------------------------------------------------
    def read_objects(self, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
        """Invoices, credit notes and contacts by `IDs=`, payments one by one; invoices carry their payments."""
        return changes.read_objects(self, object, ledger_ids)

    def changes_since(self, checkpoint, now):
        """What changed since the checkpoint: If-Modified-Since on the four collections, paged."""
        return changes.changes_since(self, checkpoint, now)
