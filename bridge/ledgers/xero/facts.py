"""Xero vendor facts: URLs, scopes, limits, headers, field sizes and precision.

Sources are tagged as in /work/shared/research/ledger-api-facts.md §2: [V] verified in an official
source, [P] partial or secondary, [U] still to confirm against a real organisation. "spec" is
XeroAPI/Xero-OpenAPI xero_accounting.yaml v16.1.0 (a copy lives in /work/shared/vendor-specs/xero/),
"identity spec" its sibling xero-identity.yaml.
"""

from __future__ import annotations

from decimal import Decimal

# --- OAuth2 (facts §2.1) -------------------------------------------------------------------------
AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
"""Authorization endpoint; takes PKCE (S256) and state. [V] spec securitySchemes"""
TOKEN_URL = "https://identity.xero.com/connect/token"
"""Token endpoint: form-encoded, Basic client auth. [V] spec securitySchemes"""
REVOKE_URL = "https://identity.xero.com/connect/revocation"
"""Revocation endpoint: form `token=<refresh_token>`, Basic client auth; removes the grant and its
tenant connections. [P] many codebases"""
CONNECTIONS_URL = "https://api.xero.com/connections"
"""Tenant discovery: GET with the bearer token -> [{id, authEventId, tenantId, tenantType, tenantName,
createdDateUtc, updatedDateUtc}]. [V] identity spec (path /Connections; Xero serves it lower-case)"""
SCOPES = ("offline_access", "accounting.invoices", "accounting.payments", "accounting.contacts",
          "accounting.settings")
"""The bridge's granular scopes (apps created on or after 2026-03-02 cannot ask for
accounting.transactions): invoices, credit notes and items need accounting.invoices, payments
accounting.payments, contacts accounting.contacts, accounts, tax rates and the organisation
accounting.settings; offline_access gives a refresh token. [P] facts §2.1, DESIGN.md "OAuth and tokens"
"""
CODE_CHALLENGE_METHOD = "S256"
"""PKCE method Xero accepts. [V] developer.xero.com/documentation/guides/oauth2/pkce-flow"""
ACCESS_TOKEN_SECONDS = 1800
"""Access token lifetime (30 min) when a response omits expires_in. [V] X-FAQ-OAUTH"""
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
"""A refresh token expires after 60 days unused; every refresh issues a new one. [V] X-FAQ-OAUTH"""
REFRESH_GRACE_SECONDS = 30 * 60
"""After a refresh, the previous refresh token keeps working for this long (so a refresh whose
answer was lost can be repeated with the old token). [V] X-FAQ-OAUTH"""
TOKEN_TIMEOUT_SECONDS = 30
"""Our default network timeout for token, revoke, connections and API calls (settings `timeout`)."""
AUTH_EVENT_CLAIM = "authentication_event_id"
"""Access-token JWT claim naming the consent that issued it; /connections' authEventId matches it
for the tenants that consent connected. [P] Nango xeroPostConnection (research/peers-and-user-pains.md)"""
TENANT_TYPE_ORGANISATION = "ORGANISATION"
"""/connections tenantType of an organisation (PRACTICE tenants have no Accounting API). [V] identity spec"""

# --- API (facts §2.2) ----------------------------------------------------------------------------
API_BASE_URL = "https://api.xero.com/api.xro/2.0"
"""Accounting API base; there is no sandbox host (use a Demo Company tenant). [V] spec servers"""
TENANT_HEADER = "xero-tenant-id"
"""Required on every Accounting call. [V] spec parameters.requiredHeader"""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""Sent on every PUT/POST; Xero answers a repeated key with the first response. [V] spec parameters.idempotencyKey"""
IDEMPOTENCY_KEY_MAX = 128
"""Idempotency-Key length limit ("128 character max"). [V] spec parameters.idempotencyKey"""
UNIT_DP = 4
"""`unitdp=4`: unit amounts kept and returned to 4 decimals (else Xero rounds them to 2). [V] spec parameters.unitdp"""
PAGE_SIZE = 100
"""Records per page of a paged GET (invoices, contacts, payments, credit notes). [V] facts §2.2"""
PAGE_SIZE_MAX = 1000
"""Largest `pageSize` Xero accepts. [P] facts §2.2 (CData/odatalink)"""
BATCH_MAX = 50
"""Elements per PUT/POST array Xero recommends. [P] Xero guidance quoted in paulschwarz/kohana-xero"""
BATCH_BODY_MAX_BYTES = 3_500_000
"""Largest POST body (3.5 MB). [P] same"""

# --- Limits (facts §2.3) -------------------------------------------------------------------------
REQUESTS_PER_MINUTE = 60
"""Per tenant (organisation) and app. [V] developer.xero.com/faq/limits"""
REQUESTS_PER_DAY = 5000
"""Per tenant and app (Starter plans since 2026-03-02: 1,000). [V] same; [P] accountingtoday.com"""
STARTER_REQUESTS_PER_DAY = 1000
"""Daily limit of an organisation on Xero's Starter pricing tier. [P] accountingtoday.com"""
CONCURRENT_REQUESTS = 5
"""Requests in flight per tenant and app. [V] developer.xero.com/faq/limits"""
APP_REQUESTS_PER_MINUTE = 10_000
"""Across every tenant of the app. [V] same"""
RATE_LIMIT_WAIT_SECONDS = 60
"""Wait after a 429 that carries no Retry-After (one minute window). [U]"""
MIN_LIMIT_REMAINING = "X-MinLimit-Remaining"
DAY_LIMIT_REMAINING = "X-DayLimit-Remaining"
APP_MIN_LIMIT_REMAINING = "X-AppMinLimit-Remaining"
RATE_LIMIT_PROBLEM = "X-Rate-Limit-Problem"
"""Rate-limit headers: remaining calls in each window; on a 429, which limit was hit. [P] pyxero,
Xero-NetStandard 3.22.1"""
PROBLEM_MINUTE, PROBLEM_DAY, PROBLEM_APP_MINUTE, PROBLEM_CONCURRENT = "minute", "day", "appminute", "concurrent"
"""X-Rate-Limit-Problem values. A `day` problem lasts until the daily window turns (hours): the sync
engine parks the connection instead of retrying. [P] Xero-NetStandard; xero-python #74"""
CORRELATION_HEADER = "Xero-Correlation-Id"
"""Response header Xero support asks for. [P]"""

# --- Objects (facts §2.6) ------------------------------------------------------------------------
INVOICE_TYPE = "ACCREC"
"""A sales invoice. [V] spec Invoice.Type"""
CREDIT_NOTE_TYPE = "ACCRECCREDIT"
"""A sales credit note. [V] spec CreditNote.Type"""
DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED",
                                                       "DELETED")
"""Invoice and credit note statuses. A DRAFT (or SUBMITTED) invoice is removed with DELETED, an
AUTHORISED one without payments with VOIDED. [V] spec Invoice.Status; developer.xero.com/documentation/api/invoices"""
EXCLUSIVE, INCLUSIVE, NO_TAX = "Exclusive", "Inclusive", "NoTax"
"""LineAmountTypes values. [V] spec LineAmountTypes"""
LINE_AMOUNT_TYPES = (EXCLUSIVE, INCLUSIVE, NO_TAX)
ADDRESS_POBOX, ADDRESS_STREET = "POBOX", "STREET"
"""Contact address types; POBOX is the postal (billing) address Xero prints on invoices. [V] spec Address"""
PHONE_DEFAULT = "DEFAULT"
"""Contact phone type of the main number. [V] spec Phone"""
ACCOUNT_TYPE_BANK = "BANK"
"""Account.Type of a bank account (payments go to one, or to an account with payments enabled). [V] spec"""
PAYMENT_DELETED = "DELETED"
"""A payment cannot be edited, only deleted: POST /Payments/{id} {"Status": "DELETED"}. [V] spec deletePayment"""

# --- Field sizes and precision (spec maxLength; facts §2.6) --------------------------------------
INVOICE_NUMBER_MAX = 255
"""InvoiceNumber (and CreditNoteNumber) length limit; unique among ACCREC invoices. [V] spec Invoice"""
REFERENCE_MAX = 255
"""Invoice / credit note / payment Reference length limit. [P] developer.xero.com/documentation/api/invoices"""
CONTACT_NUMBER_MAX = 50
"""ContactNumber ("Contact Code"): API-settable, our external_id anchor. [V] spec Contact"""
CONTACT_NAME_MAX = 255
"""Contact Name: required, unique among active contacts. [V] spec Contact"""
EMAIL_MAX = 255
TAX_NUMBER_MAX = 50
PHONE_NUMBER_MAX = 50
ADDRESS_LINE_MAX = 500
CITY_MAX = REGION_MAX = 255
POSTAL_CODE_MAX = COUNTRY_MAX = 50
"""Contact field limits. [V] spec Contact, Address, Phone"""
DESCRIPTION_MAX = 4000
"""LineItem Description length limit. [P] developer.xero.com/documentation/api/invoices"""
ITEM_CODE_MAX = 30
"""Item Code length limit; required, unique among the organisation's items. [V] spec Item.Code"""
ITEM_NAME_MAX = 50
"""Item Name length limit. [V] spec Item.Name"""
UNIT_AMOUNT_PLACES = 4
"""Decimals of UnitAmount with unitdp=4. [V] spec parameters.unitdp"""
QUANTITY_PLACES = 4
"""Decimals Xero keeps on Quantity. [P] developer.xero.com/documentation/api/invoices"""
AMOUNT_PLACES = 2
"""Decimals of line amounts, totals and payment amounts. [V] facts §2.6"""
CENT = Decimal("0.01")

# --- Errors (facts §2.6) -------------------------------------------------------------------------
VALIDATION_EXCEPTION = "ValidationException"
"""400 body Type of a validation failure: {"ErrorNumber": 10, "Type": "ValidationException",
"Message": ..., "Elements": [{..., "ValidationErrors": [{"Message": ...}]}]}. [V] spec 400 examples"""
