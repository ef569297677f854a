"""The FreshBooks ledger: the uniform verbs of `bridge.ledgers.base.Ledger` over one business.

FreshBooks has no idempotency key. Exactly-once rests on three habits:
- every object we write carries "Invoice Bridge: <external_id>" (mapping.SOURCE_NOTE);
- when `context.after_uncertain` is set (an earlier attempt may have been applied), a create first
  looks the object up (invoice by number, else by customer + date; payment by invoice + amount + date
  + note; client by email then organization; credit note by client + note) and adopts what it finds;
- a failure AFTER a create succeeded (marking the new invoice as sent, applying a credit note) is
  raised as UncertainOutcome, so the retry looks up and adopts instead of creating a second one.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from bridge.errors import LedgerError, LedgerNotFound, LedgerRejected, ReauthRequired, UncertainOutcome
from bridge.ledgers.base import Context, Ledger, LedgerRef, Preview, Written, totals_warnings
from bridge.ledgers.freshbooks import changes, facts
from bridge.ledgers.freshbooks.client import Client, unwrap
from bridge.ledgers.freshbooks.mapping import (
    DRAFT_DOWNGRADE_WARNING, account_from_fb, allocation_payload, business_from_identity, company_from_fb,
    credit_note_from_fb, credit_note_payload, customer_from_fb, customer_payload, invoice_from_fb,
    invoice_payload, invoice_status, item_from_fb, item_payload, payment_from_fb, payment_payload, same_payment,
    source_external_id, tax_from_fb, notes_after_source, with_note)
from bridge.ledgers.freshbooks.mapping import applied_payments
from bridge.ledgers.freshbooks.oauth import OAuth

LINES = ("include[]", facts.INCLUDE_LINES)
"""Ask for an invoice's or credit note's lines with it."""
VOID_WARNING = ("FreshBooks has no void: the invoice was deleted (vis_state 1), which takes it out of the "
                "books and can be undone from FreshBooks' trash")


def _newest_first(document: dict) -> tuple[date, int]:
    """Sort key of a normalized document: issue date, then FreshBooks id (ids grow with time)."""
    ledger_id = document.get("ledger_id") or ""
    return document.get("issue_date") or date.min, int(ledger_id) if ledger_id.isdigit() else 0


class Adapter(Ledger):
    """FreshBooks over one business (account_id); exactly-once by look-up, not by key."""

    name = "freshbooks"
    capabilities = ("customers", "invoices", "payments", "credit_notes", "void_invoice", "find_invoices",
                    "tenant_info", "draft_invoices", "lookup_before_create", "notes")
    RATE_LIMITS = facts.RATE_LIMITS
    CONCURRENT_REQUESTS = facts.CONCURRENT_REQUESTS
    LEARNED_LIMIT_SECONDS = facts.LEARNED_LIMIT_SECONDS
    BATCH_MAX = facts.BATCH_MAX

    def __init__(self, context: Context, client: Client | None = None):
        super().__init__(context)
        self.oauth = OAuth(context.settings)
        self.client = client or Client(context, self.oauth)
        self._company: dict | None = None

    # --- business facts ------------------------------------------------------------------------------
    @property
    def company(self) -> dict:
        """The stored tenant_info (context.tenant_extra), fetched when never stored; taxes always present."""
        if self._company is None:
            extra = dict(self.context.tenant_extra or {})
            self._company = extra if extra.get("business_uuid") else self.tenant_info()
        if self._company.get("taxes") is None:
            taxes = self.list_tax_rates()
            self._company["taxes"] = {tax["name"]: format(tax["rate"].normalize(), "f")
                                      for tax in taxes if tax["name"] and tax["rate"] is not None}
            self._company["compound_taxes"] = [tax["name"] for tax in taxes if tax["extra"]["compound"]]
        return self._company

    def tenant_info(self) -> dict:
        """users/me + taxes: {id: account_id, name, country, home_currency, business_id, business_uuid,
        taxes: {name: rate as a string}, compound_taxes}."""
        identity = unwrap(self.client.request("GET", self.oauth.url("identity")))
        business = business_from_identity(identity, self.context.tenant_id)
        if business is None:
            raise LedgerNotFound(f"The FreshBooks user no longer belongs to business {self.context.tenant_id}")
        return company_from_fb(self.context.tenant_id, business, self.list_tax_rates())

    # --- resource plumbing ---------------------------------------------------------------------------
    @staticmethod
    def _path(kind: str, ledger_id: str | None = None) -> str:
        """The accounting path of a resource, or of one object."""
        path = facts.PATHS[kind]
        return f"{path}/{quote(str(ledger_id), safe='')}" if ledger_id is not None else path

    def _read(self, kind: str, ledger_id: str, *params) -> dict:
        """GET one object."""
        found = self.client.get(self._path(kind, ledger_id), list(params)).get(kind)
        if not found:
            raise LedgerNotFound(f"FreshBooks returned no {kind} {ledger_id}")
        return found

    def _create(self, kind: str, body: dict, *params) -> dict:
        """POST a new object."""
        return self.client.post(self._path(kind), {kind: body}, list(params)).get(kind) or {}

    def _update(self, kind: str, ledger_id: str, body: dict, *params) -> dict:
        """PUT fields of an object (never mixed with vis_state or an action: facts.VIS_DELETED)."""
        return self.client.put(self._path(kind, ledger_id), {kind: body}, list(params)).get(kind) or {}

    @staticmethod
    def _ledger_id(saved: dict, kind: str) -> str:
        """The id FreshBooks gave an object."""
        ledger_id = saved.get("id") or saved.get(f"{kind}id") or saved.get("invoiceid")
        if ledger_id is None:
            raise LedgerRejected(f"FreshBooks answered a {kind} without an id")
        return str(ledger_id)

    @staticmethod
    def _created_then(ledger_id: str, what: str, step):
        """Run a step that follows a successful create; its failure is an uncertain outcome (the
        retry must adopt the created object, not create another)."""
        try:
            return step()
        except ReauthRequired:
            raise
        except LedgerError as exc:
            raise UncertainOutcome(
                f"FreshBooks {what} {ledger_id} was created, but the next step failed ({exc.detail}); "
                "the retry adopts it", retry_after=getattr(exc, "retry_after", None), errors=exc.errors) from exc

    # --- customers ---------------------------------------------------------------------------------------
    def upsert_customer(self, customer: dict, existing: LedgerRef | None, request_key: str) -> Written:
        """Update the linked client; else link the client with this email (FreshBooks keeps emails unique
        per business) or, after an ambiguous failure, our client of that organization; else create it."""
        body = customer_payload(customer)
        if existing:
            body.pop("note", None)  # keep whatever the bookkeeper wrote about the client
            saved = self._update("client", existing.ledger_id, body)
            return Written(self._ledger_id(saved, "client"), customer_from_fb(saved))
        found = self._find_client(customer, body)
        if found is not None:
            ours = source_external_id(found.get("note")) == customer.get("external_id")
            warnings = [] if ours else [
                f"Linked to the existing FreshBooks client {found.get('organization') or found.get('email')!r} "
                f"(id {found.get('id')})"]
            return Written(self._ledger_id(found, "client"), customer_from_fb(found), warnings)
        saved = self._create("client", body)
        return Written(self._ledger_id(saved, "client"), customer_from_fb(saved))

    def _find_client(self, customer: dict, body: dict) -> dict | None:
        """The client to link instead of creating one, as mapping.customers.match says (e-mail, then exact
        organization name; "create": none); after an ambiguous failure, our own client of that name."""
        match = (self.context.mapping.get("customers") or {}).get("match") or ["external_id", "email", "name"]
        keys = [] if match == "create" else match
        if "email" in keys and body.get("email"):
            found = self.client.list("client", [("search[email]", body["email"])], limit=10)
            if found:
                return found[0]
        if "name" in keys or self.context.after_uncertain:
            ours_only = "name" not in keys
            name = body["organization"]
            found = self.client.list("client", [("search[organization_like]", name)], limit=facts.PER_PAGE_MAX)
            for client in found:
                if (client.get("organization") or "").casefold() == name.casefold() and (
                        not ours_only or source_external_id(client.get("note")) == customer.get("external_id")):
                    return client
        return None

    def find_customers(self, email: str | None = None, name: str | None = None) -> list[dict]:
        """Clients, optionally by exact email and/or organization containing `name`."""
        params = []
        if email:
            params.append(("search[email]", email))
        if name:
            params.append(("search[organization_like]", name))
        return [customer_from_fb(client) for client in self.client.list("client", params)]

    # --- invoices -------------------------------------------------------------------------------------
    def upsert_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None,
                       request_key: str) -> Written:
        """Update the invoice already written, or (after looking for our own after an ambiguous failure)
        create it; a non-draft invoice is then marked as sent, which puts it in the books."""
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping, self.company)
        want_sent = invoice.get("status", "open") != "draft"
        if existing:
            # notes added through the bridge follow our back-reference line: an update keeps them
            kept = notes_after_source(self._read("invoice", existing.ledger_id).get("notes"))
            body["notes"] = with_note(body.get("notes"), kept)
            saved = self._update("invoice", existing.ledger_id, body, LINES)
            saved = self._settle_status(saved, want_sent, warnings)
            return self._invoice_written(saved, warnings, invoice)
        if self.context.after_uncertain:
            found = self._find_own_invoice(invoice, customer)
            if found is not None:
                ledger_id = self._ledger_id(found, "invoice")
                warnings.append(f"Adopted FreshBooks invoice {ledger_id}, written by an earlier attempt")
                saved = self._created_then(ledger_id, "invoice",
                                           lambda: self._settle_status(found, want_sent, warnings))
                return self._invoice_written(saved, warnings, invoice)
        saved = self._create("invoice", body, LINES)
        ledger_id = self._ledger_id(saved, "invoice")
        saved = self._created_then(ledger_id, "invoice", lambda: self._settle_status(saved, want_sent, warnings))
        return self._invoice_written(saved, warnings, invoice)

    def _settle_status(self, saved: dict, want_sent: bool, warnings: list[str]) -> dict:
        """Mark a draft as sent when the invoice is open (a PUT of its own: actions drop other fields)."""
        status = invoice_status(saved)
        if want_sent and status == "draft":
            ledger_id = self._ledger_id(saved, "invoice")
            sent = self._update("invoice", ledger_id, {"action_mark_as_sent": True}, LINES)
            if sent.get("lines") is None and saved.get("lines") is not None:
                sent = {**sent, "lines": saved["lines"]}
            return sent or saved
        if not want_sent and status not in ("draft", "void"):
            warnings.append(DRAFT_DOWNGRADE_WARNING.format(status=status))
        return saved

    def _invoice_written(self, saved: dict, warnings: list[str], source: dict | None = None) -> Written:
        """A Written from the invoice FreshBooks answered with; totals FreshBooks computed differently
        from the `source` invoice's are warnings."""
        normalized = invoice_from_fb(saved)
        warnings = warnings + totals_warnings((source or {}).get("totals"), normalized.get("totals"))
        return Written(self._ledger_id(saved, "invoice"), normalized, warnings,
                       extra={"status": normalized["status"], "number": normalized["number"]})

    def _find_own_invoice(self, invoice: dict, customer: LedgerRef) -> dict | None:
        """Our invoice written by an earlier attempt: by number, else by customer and issue date.

        A candidate is ours when its notes carry our back-reference, or (by number) when customer and
        issue date match too; deleted invoices never count.
        """
        external_id, issue_date = invoice["external_id"], invoice["issue_date"].isoformat()
        if invoice.get("number"):
            candidates = [found for found in self.client.list(
                "invoice", [("search[invoice_number]", invoice["number"]), LINES], limit=facts.PER_PAGE_MAX)
                if found.get("invoice_number") == invoice["number"]]
            same = [found for found in candidates
                    if source_external_id(found.get("notes")) == external_id
                    or (str(found.get("customerid")) == str(customer.ledger_id)
                        and str(found.get("create_date"))[:10] == issue_date)]
        else:
            candidates = self.client.list("invoice", [("search[customerid]", customer.ledger_id),
                                                      ("search[date_min]", issue_date), LINES],
                                          limit=facts.PER_PAGE_MAX)
            same = [found for found in candidates if str(found.get("create_date"))[:10] == issue_date
                    and source_external_id(found.get("notes")) == external_id]
        same = [found for found in same if found.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED]
        return max(same, key=lambda found: int(found["id"]) if str(found.get("id", "")).isdigit() else 0,
                   default=None)

    def find_invoice_ids(self, numbers: list[str]) -> dict[str, str]:
        """Ledger ids of the (not deleted) invoices with these numbers."""
        found: dict[str, str] = {}
        for number in dict.fromkeys(numbers):
            for invoice in self.client.list("invoice", [("search[invoice_number]", number)], limit=10):
                if invoice.get("invoice_number") == number and invoice.get("vis_state") != facts.VIS_DELETED:
                    found[number] = self._ledger_id(invoice, "invoice")
                    break
        return found

    def void_invoice(self, invoice: LedgerRef, request_key: str) -> Written:
        """FreshBooks has no void: soft-delete (PUT vis_state 1, alone in its PUT); reads back as void."""
        saved = self._update("invoice", invoice.ledger_id, {"vis_state": facts.VIS_DELETED})
        if not saved:
            saved = self._read("invoice", invoice.ledger_id, LINES)
        normalized = invoice_from_fb(saved)
        return Written(invoice.ledger_id, normalized, [VOID_WARNING], extra={"status": normalized["status"]})

    def add_note(self, invoice: LedgerRef, text: str, request_key: str) -> Written:
        """Append the note to the invoice's notes, after our back-reference line (no key: after an
        ambiguous failure a note already at the end is not added again)."""
        notes = self._read("invoice", invoice.ledger_id).get("notes") or ""
        if self.context.after_uncertain and notes_after_source(notes).endswith(text.strip()):
            return Written(invoice.ledger_id, warnings=["The note was already in FreshBooks"])
        self._update("invoice", invoice.ledger_id, {"notes": with_note(notes, text)})
        return Written(invoice.ledger_id)

    def invoice_pdf(self, invoice: LedgerRef) -> bytes:
        """The invoice's PDF as the ledger renders it."""
        return self.client.get_pdf(f"invoices/invoices/{invoice.ledger_id}/pdf")

    def get_invoice(self, invoice: LedgerRef) -> dict:
        """The invoice as FreshBooks holds it now, with its lines, normalized."""
        return invoice_from_fb(self._read("invoice", invoice.ledger_id, LINES))

    def find_invoices(self, number: str | None = None, customer: LedgerRef | None = None,
                      limit: int = 50) -> list[dict]:
        """Invoices by number and/or customer, newest first (by issue date, then id)."""
        params = [LINES]
        if number:
            params.append(("search[invoice_number]", number))
        if customer:
            params.append(("search[customerid]", customer.ledger_id))
        found = [invoice_from_fb(invoice) for invoice in self.client.list("invoice", params, limit=max(1, limit))]
        found.sort(key=_newest_first, reverse=True)
        return found[:limit]

    # --- payments ------------------------------------------------------------------------------------
    def record_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                       existing: LedgerRef | None, request_key: str) -> Written:
        """A payment on the invoice; an existing one gets its amount, date, type and note updated."""
        body, warnings = payment_payload(payment, invoice.ledger_id, self.context.mapping)
        if existing:
            saved = self._update("payment", existing.ledger_id,
                                 {key: body[key] for key in ("amount", "date", "type", "note")})
            return self._payment_written(saved, warnings)
        if self.context.after_uncertain:
            found = self._find_payment(invoice.ledger_id, body)
            if found is not None:
                warnings.append(f"Adopted FreshBooks payment {found.get('id')}, written by an earlier attempt")
                return self._payment_written(found, warnings)
        return self._payment_written(self._create("payment", body), warnings)

    def _find_payment(self, invoice_id: str, body: dict) -> dict | None:
        """The payment of this invoice with the same amount, date and back-reference, if any."""
        for found in self.client.list("payment", [("search[invoiceid]", invoice_id)]):
            if same_payment(found, body):
                return found
        return None

    def _payment_written(self, saved: dict, warnings: list[str]) -> Written:
        """A Written from the payment FreshBooks answered with."""
        normalized = payment_from_fb(saved)
        return Written(self._ledger_id(saved, "payment"), normalized, warnings,
                       extra={"overpayment_id": normalized["overpayment_id"]} if normalized["overpayment_id"] else {})

    # --- credit notes -------------------------------------------------------------------------------
    def upsert_credit_note(self, credit_note: dict, customer: LedgerRef,
                           allocations: list[tuple[dict, LedgerRef]], existing: LedgerRef | None,
                           request_key: str) -> Written:
        """A goodwill credit note, then one payment of type Credit (creditid) per allocation. [U]

        How FreshBooks applies a credit note to an invoice is unconfirmed (facts §3.5): payments carry
        `creditid`/`from_credit`, and a payment of type "Credit" with `creditid` is our way; confirm on a
        trial account. Allocations already applied (a payment of that invoice with this creditid) are
        skipped, so a retry never applies one twice.
        """
        body, warnings = credit_note_payload(credit_note, customer.ledger_id, self.context.mapping, self.company)
        created = False
        if existing:
            saved = self._update("credit_note", existing.ledger_id, body, LINES)
        else:
            saved = self._find_own_credit_note(credit_note, customer) if self.context.after_uncertain else None
            if saved is not None:
                warnings.append(f"Adopted FreshBooks credit note {saved.get('id')}, written by an earlier attempt")
            else:
                saved, created = self._create("credit_note", body, LINES), True
        credit_id = self._ledger_id(saved, "credit_note")

        def allocate() -> list[str]:
            return self._allocate(credit_id, credit_note, allocations, check_applied=not created)

        payment_ids = self._created_then(credit_id, "credit note", allocate) if created else allocate()
        if payment_ids:
            warnings.append(f"{len(payment_ids)} allocation(s) applied as FreshBooks payments of type "
                            f"{facts.CREDIT_PAYMENT_TYPE!r} with creditid {credit_id}")
        return Written(credit_id, credit_note_from_fb(saved), warnings, extra={"allocation_payment_ids": payment_ids})

    def _allocate(self, credit_id: str, credit_note: dict, allocations: list[tuple[dict, LedgerRef]], *,
                  check_applied: bool) -> list[str]:
        """Apply each allocation not applied yet; the ids of the payments made."""
        made = []
        for index, (allocation, invoice) in enumerate(allocations):
            payload = allocation_payload(credit_id, invoice.ledger_id, allocation["amount"],
                                         allocation.get("date") or credit_note["issue_date"],
                                         credit_note.get("external_id"), index)
            if check_applied and any(str(found.get("creditid") or "") == credit_id and
                                     found.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED
                                     for found in self.client.list("payment",
                                                                   [("search[invoiceid]", invoice.ledger_id)])):
                continue
            made.append(self._ledger_id(self._create("payment", payload), "payment"))
        return made

    def _find_own_credit_note(self, credit_note: dict, customer: LedgerRef) -> dict | None:
        """Our credit note written by an earlier attempt: the client's credit note with our back-reference
        and issue date (search[clientid] is not in FreshBooks' published credit filters [U]; the local
        check on the back-reference keeps a wider answer safe)."""
        issue_date = credit_note["issue_date"].isoformat()
        for found in self.client.list("credit_note", [("search[clientid]", customer.ledger_id), LINES]):
            if source_external_id(found.get("notes")) == credit_note.get("external_id") and \
                    str(found.get("create_date"))[:10] == issue_date and \
                    found.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED:
                return found
        return None

    # --- previews (dry run) ---------------------------------------------------------------------------
    def _preview(self, method: str, kind: str, body: dict, warnings: list[str], ledger_id: str | None = None,
                 lines: bool = False) -> Preview:
        """A request under the business's accounting path, as the client would send it."""
        path = facts.ACCOUNT_PATH.format(account_id=self.context.tenant_id, path=self._path(kind, ledger_id))
        return Preview(method, path + (f"?include[]={facts.INCLUDE_LINES}" if lines else ""), {kind: body}, warnings)

    def preview_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The invoice body upsert_invoice would POST (new) or PUT (existing); a new open invoice is then
        marked as sent."""
        body, warnings = invoice_payload(invoice, customer.ledger_id, self.context.mapping, self.company)
        if existing:
            kept = notes_after_source(self._read("invoice", existing.ledger_id).get("notes"))
            body["notes"] = with_note(body.get("notes"), kept)
            return self._preview("PUT", "invoice", body, warnings, existing.ledger_id, lines=True)
        if invoice.get("status", "open") != "draft":
            warnings = warnings + ["then marked as sent (PUT action_mark_as_sent), which puts it in the books"]
        return self._preview("POST", "invoice", body, warnings, lines=True)

    def preview_credit_note(self, credit_note: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The credit note body upsert_credit_note would send (allocations follow as Credit payments)."""
        body, warnings = credit_note_payload(credit_note, customer.ledger_id, self.context.mapping, self.company)
        if existing:
            return self._preview("PUT", "credit_note", body, warnings, existing.ledger_id, lines=True)
        return self._preview("POST", "credit_note", body, warnings, lines=True)

    def preview_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                        existing: LedgerRef | None) -> Preview:
        """The payment body record_payment would POST (an existing one: PUT of amount, date, type, note)."""
        body, warnings = payment_payload(payment, invoice.ledger_id, self.context.mapping)
        if existing:
            return self._preview("PUT", "payment", {key: body[key] for key in ("amount", "date", "type", "note")},
                                 warnings, existing.ledger_id)
        return self._preview("POST", "payment", body, warnings)

    def preview_customer(self, customer: dict, existing: LedgerRef | None) -> Preview:
        """The client body upsert_customer would send (a client with the same e-mail is linked instead)."""
        body = customer_payload(customer)
        if existing:
            body.pop("note", None)
            return self._preview("PUT", "client", body, [], existing.ledger_id)
        return self._preview("POST", "client", body, [])

    def preview_void(self, invoice: LedgerRef) -> Preview:
        """FreshBooks has no void: the soft delete PUT."""
        return self._preview("PUT", "invoice", {"vis_state": facts.VIS_DELETED}, [VOID_WARNING], invoice.ledger_id)

    # --- reference data -----------------------------------------------------------------------------
    def list_accounts(self) -> list[dict]:
        """The chart of accounts (by business_uuid); `id` is the account's uuid, `code` its number."""
        business_uuid = self.company.get("business_uuid")
        if not business_uuid:
            raise LedgerRejected("The FreshBooks business_uuid is unknown: reconnect to refresh tenant facts")
        url = self.client.api_base + facts.LEDGER_ACCOUNTS_PATH.format(business_uuid=quote(business_uuid, safe=""))
        answer = unwrap(self.client.request("GET", url))
        return [account_from_fb(account) for account in answer.get("data") or []]

    def list_tax_rates(self) -> list[dict]:
        """The business's taxes: `id` is the tax NAME (what mappings and lines use), rate a Decimal percent."""
        return [tax for tax in (tax_from_fb(found) for found in self.client.list("tax")) if tax["name"]]

    def list_items(self) -> list[dict]:
        """Items (billable items)."""
        return [item_from_fb(found) for found in self.client.list("item")]

    def find_item(self, code: str) -> dict | None:
        """The live item named `code` (case aside): invoice lines name their item. Looked up before every
        create, this is also what keeps a retry after an ambiguous failure from making a second one."""
        wanted = code.strip().casefold()
        for found in self.client.list("item", [("search[name]", code.strip())], limit=facts.PER_PAGE_MAX):
            if (found.get("name") or "").strip().casefold() == wanted and \
                    found.get("vis_state", facts.VIS_ACTIVE) == facts.VIS_ACTIVE:
                return item_from_fb(found)
        return None

    def create_item(self, item: dict, request_key: str) -> Written:
        """POST a new item named by the product code, priced in the business's currency."""
        saved = self._create("item", self._item_body(item))
        return Written(self._ledger_id(saved, "item"), item_from_fb(saved))

    def preview_item(self, item: dict) -> Preview:
        """The item body create_item would POST."""
        return self._preview("POST", "item", self._item_body(item), [])

    def _item_body(self, item: dict) -> dict:
        """An item's body; its unit cost only when the document is in the business's own currency."""
        home = self.company.get("home_currency")
        return item_payload(item, home if home and item.get("currency") in (None, home) else None)

    # --- reconciliation --------------------------------------------------------------------------------
    def _by_ids(self, kind: str, search: str, ids: list[str], *params) -> dict[str, dict]:
        """Live objects by id, 100 per page (`search[<kind>ids][]`); deleted ones are not listed."""
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(str(ledger_id) for ledger_id in ids))
        for start in range(0, len(unique), facts.PER_PAGE_MAX):
            chunk = unique[start:start + facts.PER_PAGE_MAX]
            for row in self.client.list(kind, [*params, *((f"search[{search}][]", ledger_id) for ledger_id in chunk)]):
                if row.get("vis_state", facts.VIS_ACTIVE) != facts.VIS_DELETED:
                    found[self._ledger_id(row, kind)] = row
        return found

    def read_invoices(self, invoices: list[LedgerRef]) -> dict[str, dict | None]:
        """Invoices by id (one list per 100), and the payments of each one paid or expected to be
        (FreshBooks filters payments by one invoice at a time)."""
        rows = self._by_ids("invoice", "invoiceids", [ref.ledger_id for ref in invoices], LINES)
        expecting = {str(ref.ledger_id) for ref in invoices if ref.extra.get("expect_payments")}
        result: dict[str, dict | None] = {}
        for ref in invoices:
            row = rows.get(str(ref.ledger_id))
            if row is None:
                result[ref.ledger_id] = None
                continue
            invoice = invoice_from_fb(row)
            payments: list[dict] = []
            if (invoice.get("paid") or 0) > 0 or str(ref.ledger_id) in expecting:
                payments = applied_payments(self.client.list("payment", [("search[invoiceid]", ref.ledger_id)]))
            result[ref.ledger_id] = {**invoice, "payments": payments}
        return result

    def read_credit_notes(self, credit_notes: list[LedgerRef]) -> dict[str, dict | None]:
        """Credit notes by id (one list per 100)."""
        rows = self._by_ids("credit_note", "creditids", [ref.ledger_id for ref in credit_notes], LINES)
        return {ref.ledger_id: credit_note_from_fb(rows[str(ref.ledger_id)]) if str(ref.ledger_id) in rows else None
                for ref in credit_notes}

    # --- change reading (events) -----------------------------------------------------------------------
    def read_objects(self, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
        """Invoices, payments, clients or credit notes by id, 100 a request."""
        return changes.read_objects(self, object, ledger_ids)

    def changes_since(self, checkpoint, now):
        """What changed since the checkpoint: `search[updated_min]` on the four resources."""
        return changes.changes_since(self, checkpoint, now)
