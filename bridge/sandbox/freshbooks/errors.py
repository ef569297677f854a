"""FreshBooks error answers. Each endpoint group has its own body shape (facts §3.5 "Other endpoint groups differ").

- accounting: `{"response": {"errors": [{"errno", "field", "message", "object", "value"}]}}`
  [V] FB-SDK fixture get_client_response__not_found.json (404, errno 1012 "Client not found.");
- auth (users/me) and OAuth: `{"error", "error_description"}` [V] FB-SDK auth_me_response__no_auth.json;
- events (callbacks): `{"errno", "message"[, "details"]}` [V] FB-SDK get_callback_response__*.json;
- business (ledger accounts): `{"errors": {"message", "status", "details"}}` [V] FB-SDK
  get_ledger_account_response__not_found.json.
Errno values other than 1012 are not published; the ones below are sandbox choices [U].
"""

from __future__ import annotations

ACCOUNTING, AUTH, EVENTS, BUSINESS = "accounting", "auth", "events", "business"

ERRNO_NOT_FOUND = 1012  # [V] "Client not found." / "Item not found." (FB-SDK, freshbooks-nodejs-sdk tests)
ERRNO_INVALID_BODY = 1001  # [U] the body is not JSON, or not the {"<single>": {...}} wrapper
ERRNO_REQUIRED = 2001  # [U] a required field is missing (2001 is FreshBooks' validation errno in projects)
ERRNO_INVALID = 2002  # [U] a field holds a value of the wrong type or out of range
ERRNO_DUPLICATE_NUMBER = 2003  # [U] invoice number already used (FreshBooks refuses reuse, see invoices.py)
ERRNO_CREDIT = 2004  # [U] a payment from credit exceeds what the credit or the invoice has left
ERRNO_METHOD = 2005  # [U] an HTTP verb the resource does not take (e.g. DELETE on a client)
ERRNO_SERVER = 5000  # [U] an injected or unexpected server error

UNAUTHENTICATED = {"error": "unauthenticated",
                   "error_description": "This action requires authentication to continue."}  # [V] FB-SDK
# Doorkeeper's invalid_token descriptions (FreshBooks' OAuth server answers in Doorkeeper's shape:
# `created_at` in the token response [V] FB-SDK auth_token_response.json) [P].
TOKEN_DESCRIPTIONS = {"invalid": "The access token is invalid", "expired": "The access token expired",
                      "revoked": "The access token was revoked"}
EVENTS_UNAUTHORIZED = "invalid_token: The request token failed to authenticate or validate."  # [V] FB-SDK
EVENTS_NOT_FOUND = "Requested resource could not be found."  # [V] FB-SDK get_callback_response__not_found
EVENTS_UNPROCESSABLE = ("The request was well-formed but was unable to be followed due to semantic "
                        "errors.")  # [V] FB-SDK create_callback_response__validation_error.json
# No rate limit and no 429 body are published (facts §3.3) [U]: a gateway-style body is used.
THROTTLE_BODY = {"message": "Too Many Requests"}
# A missing scope gives "an HTTP error with status code 403, which will include a message containing two
# things: the scopes you provided, the scopes needed" [V] api/how-to-find-the-right-scopes-for-your-app;
# the exact wording is not published [U] (this one matches the bridge's recorded fixture).
SCOPE_MESSAGE = ("insufficient_scope: The request requires higher privileges than provided by the access token. "
                 "Provided: [{provided}]. Required: [{required}].")


class FreshBooksError(Exception):
    """An error answer: HTTP status, JSON body (None for an empty body), extra headers."""

    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def accounting(status: int, errno: int, message: str, field: str | None = None, obj: str | None = None,
               value=None) -> FreshBooksError:
    """An accounting error with one entry."""
    entry = {"errno": errno, "field": field, "message": message, "object": obj,
             "value": None if value is None else str(value)}
    return FreshBooksError(status, {"response": {"errors": [entry]}})


def not_found(obj: str, field: str, value, status: int = 404) -> FreshBooksError:
    """Errno 1012: "<Object> not found." (404 for a path id, 422 for a reference inside a body)."""
    label = obj.replace("_", " ").capitalize()
    return accounting(status, ERRNO_NOT_FOUND, f"{label} not found.", field, obj, value)


def required(obj: str, field: str) -> FreshBooksError:
    """A required field is missing (422)."""
    return accounting(422, ERRNO_REQUIRED, "This field is required.", field, obj)


def invalid(obj: str, field: str, value, message: str) -> FreshBooksError:
    """A field holds an unusable value (422)."""
    return accounting(422, ERRNO_INVALID, message, field, obj, value)


def bad_body(message: str) -> FreshBooksError:
    """The request body is not usable at all (400)."""
    return accounting(400, ERRNO_INVALID_BODY, message)


def method_not_allowed(obj: str) -> FreshBooksError:
    """The resource does not take this verb (405)."""
    return accounting(405, ERRNO_METHOD, f"This method is not allowed on {obj}.", obj=obj)


def page_not_number(field: str, value) -> FreshBooksError:
    """A non-positive-integer page: "an error indicating that page must be a number" [V] api/parameters."""
    return accounting(400, ERRNO_INVALID, f"{field} must be a number", field, None, value)


def events(status: int, message: str, details: list | None = None) -> FreshBooksError:
    """An events-API error body."""
    body = {"errno": status, "message": message}
    if details is not None:
        body["details"] = details
    return FreshBooksError(status, body)


def business(status: int, reason: str, field: str | None = None) -> FreshBooksError:
    """A business-scoped (ledger accounts) error body."""
    return FreshBooksError(status, {"errors": {
        "message": f"Request failed with status code {status}", "status": status,
        "details": [{"reason": reason, "metadata": {"message": reason, "field": field}}]}})


def unauthorized(group: str, reason: str) -> FreshBooksError:
    """401 for a missing, unknown, expired or revoked bearer token, shaped per endpoint group."""
    if group == EVENTS:
        return events(401, EVENTS_UNAUTHORIZED)
    if group == AUTH or reason == "missing":
        return FreshBooksError(401, dict(UNAUTHENTICATED))
    return FreshBooksError(401, {"error": "invalid_token", "error_description": TOKEN_DESCRIPTIONS[reason]})


def forbidden(provided, required_scopes) -> FreshBooksError:
    """403 whose message names the token's scopes and the ones the call needs."""
    have = "'" + " ".join(provided) + "'"
    need = ", ".join(f"'{scope}'" for scope in required_scopes)
    return FreshBooksError(403, {"message": SCOPE_MESSAGE.format(provided=have, required=need)})


def throttled(retry_after: int | None) -> FreshBooksError:
    """429 from the hidden limit; Retry-After only when configured (FreshBooks documents none)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return FreshBooksError(429, dict(THROTTLE_BODY), headers)


def server_error(group: str) -> FreshBooksError:
    """500, shaped per endpoint group."""
    message = "An unexpected error occurred. Please try again."
    if group == ACCOUNTING:
        return accounting(500, ERRNO_SERVER, message)
    if group == EVENTS:
        return events(500, message)
    if group == BUSINESS:
        return business(500, message)
    return FreshBooksError(500, {"error": "server_error", "error_description": message})
