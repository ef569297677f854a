"""FreshBooks vendor facts: URLs, scopes, limits, precision, statuses and payment types.

Sources are tagged as in /work/shared/research/ledger-api-facts.md §3 ([FB-SDK] is
github.com/freshbooks/freshbooks-python-sdk @ bfa0c091; "fb/" is https://www.freshbooks.com/api/).
[V] verified in a primary source, [P] partial or secondary, [U] unverified: confirm on a FreshBooks
trial account (FreshBooks has no sandbox), [C] our own choice where FreshBooks publishes nothing.
"""

from __future__ import annotations

from decimal import Decimal

# --- OAuth2 (facts §3.1) -------------------------------------------------------------------------
AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
"""Authorization page (response_type=code, client_id, redirect_uri, scope, state). [V] FB-SDK client.py"""
TOKEN_URL = "https://api.freshbooks.com/auth/oauth/token"
"""Token endpoint: JSON body {grant_type, client_id, client_secret, code|refresh_token, redirect_uri}. [V]
fb/authentication (the FB-SDK posts the same fields form-encoded; both are accepted)"""
REVOKE_URL = "https://api.freshbooks.com/auth/oauth/revoke"
"""Revocation: JSON {client_id, client_secret, token}. [P] Postman collection mirror"""
API_BASE_URL = "https://api.freshbooks.com"
"""Base of the accounting API; no sandbox host, use a trial account. [V] FB-SDK client.py"""
IDENTITY_URL = "https://api.freshbooks.com/auth/api/v1/users/me"
"""The user and the businesses they belong to: response.business_memberships[].business. [V] FB-SDK
api/auth.py, fixture auth_me_response.json (no "result" wrapper on this endpoint)"""
PKCE = False
"""FreshBooks documents only the plain authorization-code grant with a client secret; no PKCE. [P]
fb/authentication"""
SCOPES = (
    "user:profile:read",
    "user:clients:read", "user:clients:write",
    "user:invoices:read", "user:invoices:write",
    "user:payments:read", "user:payments:write",
    "user:credit_notes:read", "user:credit_notes:write",
    "user:billable_items:read", "user:billable_items:write",
    "user:taxes:read",
)
"""The bridge's set (facts §3.1 "Bridge set", plus billable_items:write: items are created when
source_of_truth.items is "invoicing"); a token's scopes never change: revoke and re-authorize to add
one. [V] fb/scopes"""
ACCESS_TOKEN_SECONDS = 43200
"""Access token lifetime (12 h) when an answer omits expires_in. [V] FB-AUTH"""
REFRESH_TOKEN_SINGLE_USE = True
"""A refresh token never expires but works ONCE: each refresh returns a new pair and invalidates the
earlier tokens, so the new refresh token must be stored before anything else. [V] FB-AUTH"""
INVALID_GRANT = "invalid_grant"
"""The token endpoint's error for a used, revoked or unknown code or refresh token. [P] RFC 6749 §5.2"""
EXCLUDED_ROLES = frozenset({"client"})
"""Business memberships in which the user is only a client of that business: not a ledger we can
write to, so never offered as a tenant. [P] FB-SDK fixture auth_me_response.json (roles owner,
business_employee; "client" appears in roles[])"""
TIMEOUT_SECONDS = 30
"""Our default network timeout (settings `timeout`); the FB-SDK uses 30 s too. [V] FB-SDK resource.py"""

# --- API (facts §3.2) ----------------------------------------------------------------------------
ACCOUNT_PATH = "/accounting/account/{account_id}/{path}"
"""Accounting resources live under the business's account_id. [V] FB-SDK api/accounting.py"""
LEDGER_ACCOUNTS_PATH = "/accounting/businesses/{business_uuid}/ledger_accounts/accounts"
"""The chart of accounts is keyed by business_uuid and answers {"data": [...]}. [V] FB-SDK
api/accounting_business.py, fixture list_ledger_accounts_response.json"""
API_VERSION_HEADER = "X-API-VERSION"
"""Optional dated API version (settings `api_version`, e.g. "2023-02-20"); omitted by default. [V]"""
PER_PAGE_MAX = 100
"""`per_page` is silently capped at 100; a page past the end is an empty list. [V] fb/parameters"""
LIST_PAGES_MAX = 50
"""[C] Pages we read at most in one listing (5,000 objects): reference data, not a full export."""
INCLUDE_LINES = "lines"
"""`include[]=lines`: invoices and credit notes come without their lines unless asked. [V] fb/invoices"""

PATHS = {
    "client": "users/clients",
    "invoice": "invoices/invoices",
    "payment": "payments/payments",
    "credit_note": "credit_notes/credit_notes",
    "item": "items/items",
    "tax": "taxes/taxes",
}
"""Resource paths; the wrapper key is the singular (client, invoice, ...), lists the plural. [V]"""
PLURAL = {"client": "clients", "invoice": "invoices", "payment": "payments", "credit_note": "credit_notes",
          "item": "items", "tax": "taxes"}

VIS_ACTIVE, VIS_DELETED, VIS_ARCHIVED = 0, 1, 2
"""vis_state values. A PUT carrying vis_state (or an action such as action_mark_as_sent) applies ONLY
that phase and silently drops every other field, so those always go in a PUT of their own. [V]
fb/active_deleted"""

# --- Limits, idempotency (facts §3.3) -------------------------------------------------------------
RATE_LIMITS: dict[str, tuple[int, float]] = {}
"""None published: the bridge adapts on 429 instead of pacing to a window. [U]"""
LEARNED_LIMIT_SECONDS = 60.0
"""[C] The window a 429 teaches a limit over (integrators report per-minute throttling; unpublished [U])."""
CONCURRENT_REQUESTS = 2
"""[C] FreshBooks publishes no concurrency cap and has no optimistic locking (PUT is last-write-wins):
two requests in flight per connection keeps a bulk backfill moving while leaving room for the user's
own FreshBooks session, and halves the blast radius of an unpublished limit. Raise it once a trial
account shows it holds."""
RATE_LIMIT_WAIT_SECONDS = 60
"""[C] Wait after a 429 without Retry-After (none is documented); the sync engine backs off further."""
BATCH_MAX = 0
"""No batch or bulk endpoint. [P]"""
IDEMPOTENCY = None
"""No idempotency key: after an ambiguous failure the adapter looks the object up before creating it
again (invoice by invoice_number, client by email, payment by invoice + amount + date + note). [U]"""

# --- Money, tax, precision (facts §3.5) ----------------------------------------------------------
MONEY_PLACES = 2
"""Amounts travel as {"amount": "27.00", "code": "CAD"} with a decimal STRING of 2 places. [V] FB-SDK"""
UNIT_COST_PLACES = 2
"""Decimals we send in a line's unit_cost: FreshBooks documents money at 2 places and nothing finer for
rates, so a unit price (or a folded discount) must be exact at 2. [U]"""
CENT = Decimal("0.01")
TAX_PERCENT_PLACES = 3
"""taxAmount1/2 are PERCENT strings with at most 3 decimals ("13.175"), not money. [V] fb/credits"""
TAXES_PER_LINE = 2
"""taxName1/taxAmount1 and taxName2/taxAmount2, plus `compounded_tax` (tax 2 charged on tax 1). [V]"""
TAX_SEPARATOR = "+"
"""Our mapping convention: a tax_categories value names one FreshBooks tax ("GST") or two joined by
"+" ("GST+PST"), by the names `/taxes/taxes` lists; the rates come from that list. [C]"""
NO_TAX = "NONE"
"""Our mapping value for "no tax on this category" (a mapping value may not be empty). [C]"""
LINE_TYPE_NORMAL = 0
"""Line `type` 0 is a normal line (1 is an expense rebilled). [V] FB-SDK models Line"""
LINE_ROUNDING = "ROUND_HALF_UP"
"""How we round a line's amount (qty x unit_cost) and each line's tax to cents when we must compute
them; FreshBooks' own rounding is undocumented, so read-back totals prefer FreshBooks' `amount`. [U]"""

# --- Documents ----------------------------------------------------------------------------------------
STATUS_DISPUTED, STATUS_DRAFT, STATUS_SENT, STATUS_VIEWED = 0, 1, 2, 3
STATUS_PAID, STATUS_AUTO_PAID, STATUS_RETRY, STATUS_FAILED, STATUS_PARTIAL = 4, 5, 6, 7, 8
"""Invoice `status` codes. [V] fb/invoices"""
STATUS_NAMES = {"disputed": 0, "draft": 1, "sent": 2, "viewed": 3, "paid": 4, "auto-paid": 5, "autopaid": 5,
                "retry": 6, "failed": 7, "partial": 8}
"""The same statuses by name, as `v3_status`/`status` strings read in some answers. [V] fb/invoices"""
CREDIT_TYPE = "goodwill"
"""credit_type of a credit note we write (the other is "prepayment"). [V] fb/credits"""
VOID_MEANS_DELETE = True
"""FreshBooks has no void: an invoice is voided by soft-deleting it (PUT {"invoice": {"vis_state": 1}}),
which keeps it restorable and takes it out of accounting reports. FreshBooks refuses it while payments
are applied (delete or convert them to credit first). A vis_state 1 invoice reads back as `void`. [P]
fb/active_deleted; Postman "Delete Invoice" (PUT, not DELETE)"""

# --- Payments ---------------------------------------------------------------------------------------
PAYMENT_TYPES = ("Cash", "Check", "Credit", "Credit Card", "Bank Transfer", "Debit", "PayPal", "2Checkout",
                 "VISA", "MASTERCARD", "DISCOVER", "NOVA", "AMEX", "DINERS", "EUROCARD", "JCB", "ACH")
"""Payment `type` values. [P] FreshBooks Classic payment.create reference; the new API shows Check,
Cash, Credit (FB-SDK PaymentType) and Postman examples Check, Credit Card, Bank Transfer."""
DEFAULT_PAYMENT_TYPE = "Check"
"""FreshBooks' own default type; no "Other" type exists. [P] same"""
CREDIT_PAYMENT_TYPE = "Credit"
"""A payment of type Credit with `creditid` applies a credit note to an invoice. [U] (payments carry
creditid and from_credit; the documented way to apply credit is unconfirmed: facts §3.5)"""

# --- Webhooks (facts §3.4) ------------------------------------------------------------------------
CALLBACKS_PATH = "/events/account/{account_id}/events/callbacks"
"""Webhook callbacks: POST {"callback": {event, uri}} registers, PUT .../{id} {"callback": {"verifier"}}
verifies (or {"resend": true}), DELETE removes. [V] FB-SDK api/events.py; fb/webhooks"""
WEBHOOK_EVENTS = tuple(f"{obj}.{action}" for obj in ("invoice", "payment", "client", "credit_note")
                       for action in ("create", "update", "delete"))
"""The callbacks the bridge registers, one per event (parent-event registration is only [P]). [V] fb/webhooks"""
VERIFY_EVENT = "callback.verify"
"""`name` of the POST that carries a new callback's verifier (with object_id = the callback id). [P]
fb/webhooks ("a unique verification code as well as a unique id for the callback")"""
WEBHOOK_SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"
"""base64(HMAC-SHA256(verifier, json.dumps(form fields in received order))). [V] FB-SDK webhooks guide"""
