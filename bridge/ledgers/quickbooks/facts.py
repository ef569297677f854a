"""QuickBooks Online vendor facts: URLs, scopes, limits, field sizes and fault codes.

Sources are tagged as in /work/shared/research/ledger-api-facts.md §1 ("dic/" is
https://developer.intuit.com/app/developer/qbo/docs/). [U] marks a fact still to confirm in a
sandbox company.
"""

from __future__ import annotations

from decimal import Decimal

# --- OAuth2 (facts §1.1) -------------------------------------------------------------------------
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
"""Authorization endpoint, same for sandbox and production. [V] I-DISC"""
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
"""Token endpoint: form-encoded, Basic client auth. [V] I-DISC, I-PY"""
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
"""Revocation endpoint: JSON body {"token": ...}, Basic client auth. [P] many codebases"""
SCOPES = ("com.intuit.quickbooks.accounting",)
"""The whole Accounting API; `com.intuit.quickbooks.payment` is the separate card API. [V] I-PY"""
REALM_PARAM = "realmId"
"""The company id arrives as this query argument of the OAuth callback. [V] I-PY user guide"""
ACCESS_TOKEN_SECONDS = 3600
"""Access token lifetime when a response omits expires_in. [V] I-FAQ"""
REFRESH_TOKEN_SECONDS = 100 * 24 * 3600
"""Rolling refresh-token lifetime (x_refresh_token_expires_in); always keep the latest. [V] I-BLOG24"""
TOKEN_TIMEOUT_SECONDS = 30
"""Our default network timeout for token, revoke and API calls (settings `timeout`)."""

# --- API (facts §1.2) ----------------------------------------------------------------------------
API_BASE_URL = "https://quickbooks.api.intuit.com"
"""Production base; the adapter appends /v3/company/<realmId>/<entity>. [V] dic/learn/rest-api-features"""
SANDBOX_API_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
"""Intuit's own development companies (set as api_base_url to use them). [V] same"""
MINOR_VERSION = 75
"""Sent on every call: since 2025-08-01 versions 1-74 are served as 75 anyway. [V] I-MV"""

# --- Idempotency and batch (facts §1.4, §1.5) ----------------------------------------------------
REQUEST_ID_MAX = 50
"""`?requestid=` length limit; a repeated id replays the original response. [V] I-RID"""
BATCH_REQUEST_ID_MAX = 36
"""`requestid` limit on a /batch call. [U]"""
BID_MAX = 10
"""`bId` limit of one batch item. [U]"""
BATCH_MAX = 30
"""Items per /batch request (figures disagree: 10, 30, 50; use 30). [V] dic/learn/limits-and-throttles"""

# --- Limits (facts §1.4) ---------------------------------------------------------------------------
REQUESTS_PER_MINUTE = 500
"""Per realm. [V] dic/learn/limits-and-throttles"""
REQUESTS_PER_SECOND = 10
"""Per realm and app. [V] same"""
CONCURRENT_REQUESTS = 10
"""Per realm and app; above it QBO answers 429. [V] Intuit blog 2016-08-08"""
BATCH_REQUESTS_PER_MINUTE = 40
"""Batch calls per realm and app. [V] dic/learn/limits-and-throttles"""
RATE_LIMIT_WAIT_SECONDS = 60
"""How long to wait after a 429 that carries no Retry-After. [V] same"""
SERVER_TIMEOUT_SECONDS = 120
"""QBO itself gives up on a request after this long. [V] same"""
QUERY_MAX_RESULTS = 1000
"""MAXRESULTS ceiling of one query page. [U]"""
CDC_LOOKBACK_DAYS = 30
"""/cdc answers changes of the last 30 days only; an older checkpoint is read with a query. [V] facts §1.3"""
CDC_MAX_OBJECTS = 1000
"""/cdc returns at most 1,000 objects: a full answer may be cut short. [V] facts §1.3"""
CDC_DELETED = "Deleted"
"""`status` of a deleted object in a /cdc answer. [V] facts §1.3"""

DEFAULT_ITEM_NAME = "Services"
"""The service item QBO creates in a new company (Id 1 in sandbox companies); used for lines whose
product has no mapped item when the mapping sets no defaults.item. [P] sandbox companies"""
ITEM_NAME_MAX = 100
"""Item Name length limit; unique among items (case aside), else fault 6240. [P] Intuit item reference"""
ITEM_TYPE_SERVICE = "Service"
"""Type of the items the bridge creates (source_of_truth.items "invoicing"): a Service item needs an
IncomeAccountRef. [V] developer.intuit.com/docs/api/accounting/item"""
ITEM_DESCRIPTION_MAX = 4000
"""Item Description (sales description) length limit. [P] Intuit item reference"""

# --- Field sizes and precision (facts §1.7) ------------------------------------------------------
DOC_NUMBER_MAX = 21
"""Invoice / CreditMemo DocNumber length limit. [P] Intuit invoice reference"""
PAYMENT_REF_MAX = 21
"""Payment PaymentRefNum length limit. [P] Intuit payment reference"""
CUSTOMER_MEMO_MAX = 1000
"""CustomerMemo length limit (PrivateNote allows 4000). [P] Intuit invoice reference"""
PRIVATE_NOTE_MAX = 4000
"""PrivateNote length limit. [P] Intuit invoice reference"""
DISPLAY_NAME_MAX = 500
"""Customer DisplayName length limit; unique across customers, vendors and employees. [V] facts §1.7"""
UNIT_PRICE_PLACES = 7
"""Decimals QBO keeps on UnitPrice and Qty. [P] Breadwinner help "7 decimal places in Line Quantity
and Unit Price"; an Intuit community thread shows the API returning UnitPrice 63.5828571. Amounts
(line Amount, totals, tax) are kept to 2 decimals."""
AMOUNT_PLACES = 2
"""Decimals of line Amount and every total. [P] same"""
CENT = Decimal("0.01")

# --- Tax (facts §1.7) -----------------------------------------------------------------------------
US = "US"
"""CompanyInfo.Country of a US company: TAX/NON line codes plus one transaction tax code."""
US_TAXABLE = "TAX"
"""US pseudo tax code of a taxable line. [V] dic/…/manage-sales-tax-for-us-locales"""
US_NON_TAXABLE = "NON"
"""US pseudo tax code of a non-taxable line. [V] same"""
TAX_EXCLUDED, TAX_INCLUSIVE, TAX_NOT_APPLICABLE = "TaxExcluded", "TaxInclusive", "NotApplicable"
"""Non-US GlobalTaxCalculation values. [P] enum; [EJ2] defaults to TaxExcluded"""

# --- Void (Intuit blog 2016-04-06 "Voiding Invoice Objects") --------------------------------------
VOIDED_NOTE = "Voided"
"""On void QBO keeps the invoice, zeroes every amount and quantity (TotalAmt 0, Balance 0) and
prepends "Voided" to PrivateNote. That is how a voided invoice is recognised on read-back. [V]"""

# --- Faults (facts §1.7; dic/develop/troubleshooting/handling-common-errors) ----------------------
FAULT_OBJECT_NOT_FOUND = "610"
"""Object not found, or made inactive. [P] EJ2 handle_exceptions"""
FAULT_AUTHENTICATION = "3200"
"""AuthenticationFailed (HTTP 401): the access token is expired or revoked. [P]"""
FAULT_AUTHORIZATION = "3100"
"""ApplicationAuthorizationFailed (HTTP 403): no access to this company. [P]"""
FAULT_THROTTLED = "3001"
"""ThrottleExceeded (HTTP 429). [P]"""
FAULT_STALE_OBJECT = "5010"
"""Stale Object Error: the SyncToken sent is not the current one. [U]"""
FAULT_BUSINESS_VALIDATION = "6000"
"""A business validation error; Detail says which. [P]"""
FAULT_DUPLICATE_DOC_NUMBER = "6140"
"""Duplicate Document Number Error (when the company enforces unique numbers). [U]"""
FAULT_DUPLICATE_NAME = "6240"
"""Duplicate Name Exists Error: DisplayName taken by a customer, vendor or employee. [V]"""
FAULT_BANDS = (
    (1, 499, "authentication"),
    (500, 599, "unsupported operation"),
    (600, 1999, "general"),
    (2000, 4999, "validation"),
    (5000, 9999, "business rule"),
    (10000, 10 ** 9, "severe"),
)
"""Code bands: python-quickbooks' handle_exceptions [P] EJ2, plus 5000-9999 (5010, 6000, 6140,
6240 above), which it leaves unclassified."""
