"""Xero error answers.

Accounting API validation failures are the spec's `Error` schema (HTTP 400):
`{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
"Elements": [{...the item..., "ValidationErrors": [{"Message": ...}]}]}` (xero_accounting.yaml
components.responses.400Error and its examples). Gateway answers (401, 403, 413, 429, 500) use the
problem shape Xero's identity layer sends, e.g. `{"Type": null, "Title": "Unauthorized", "Status": 401,
"Detail": "TokenExpired: token expired at 04/09/2023 05:16:59", "Instance": "<uuid>", "Extensions": {}}`
(freakboy3742/pyxero#337; developer.xero.com/documentation/oauth2/troubleshooting for the 403).
"""

from __future__ import annotations

from .wire import new_id

VALIDATION_NUMBER = 10  # ErrorNumber of ValidationException (spec examples)
POST_DATA_INVALID_NUMBER = 14  # [P] PostDataInvalidException: a body Xero cannot parse
QUERY_PARSE_NUMBER = 16  # [P] QueryParseException: a `where` or `order` Xero cannot parse
VALIDATION_MESSAGE = "A validation exception occurred"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"  # Xero's 404 body is this plain text
AUTHENTICATION_UNSUCCESSFUL = "AuthenticationUnsuccessful"  # 401 unknown token; 403 tenant not connected
AUTHORIZATION_UNSUCCESSFUL = "AuthorizationUnsuccessful"  # the token lacks the endpoint's scope


class ItemInvalid(Exception):
    """One item of a write failed validation; the messages go into its ValidationErrors."""

    def __init__(self, messages: list[str] | str):
        messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(messages))
        self.messages = messages


class ApiError(Exception):
    """A whole-request error answer: status, body (JSON object or text) and extra headers."""

    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation_exception(elements: list[dict]) -> ApiError:
    """400 ValidationException with the failing elements."""
    return ApiError(400, {"ErrorNumber": VALIDATION_NUMBER, "Type": "ValidationException",
                          "Message": VALIDATION_MESSAGE, "Elements": elements})


def single_validation(message: str, element: dict | None = None) -> ApiError:
    """400 ValidationException for a request that is not a list of items (one element)."""
    return validation_exception([{**(element or {}), "ValidationErrors": [{"Message": message}]}])


def post_data_invalid(message: str) -> ApiError:
    """400 for a body that is not JSON or not the expected shape."""
    return ApiError(400, {"ErrorNumber": POST_DATA_INVALID_NUMBER, "Type": "PostDataInvalidException",
                          "Message": message})


def query_parse(message: str) -> ApiError:
    """400 for a `where`, `order` or paging parameter the sandbox cannot run."""
    return ApiError(400, {"ErrorNumber": QUERY_PARSE_NUMBER, "Type": "QueryParseException", "Message": message})


def problem(status: int, title: str, detail: str, headers: dict | None = None) -> ApiError:
    """A gateway answer in the identity layer's problem shape."""
    return ApiError(status, {"Type": None, "Title": title, "Status": status, "Detail": detail,
                             "Instance": new_id(), "Extensions": {}}, headers)


def unauthorized(detail: str = AUTHENTICATION_UNSUCCESSFUL) -> ApiError:
    """401: the bearer token is missing, unknown, revoked or expired."""
    return problem(401, "Unauthorized", detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def forbidden(detail: str = AUTHENTICATION_UNSUCCESSFUL) -> ApiError:
    """403: xero-tenant-id missing or not connected (AuthenticationUnsuccessful), or scope missing."""
    return problem(403, "Forbidden", detail)


def not_found() -> ApiError:
    """404 with Xero's plain-text body."""
    return ApiError(404, NOT_FOUND_TEXT)


def too_large(limit: int) -> ApiError:
    """413: the body is over Xero's 3.5 MB cap ([U] body shape: the gateway's problem document)."""
    return problem(413, "Request Entity Too Large", f"The request body exceeds the {limit} byte limit")


def too_many_requests(limit_problem: str, retry_after: int, remaining: dict) -> ApiError:
    """429 with Retry-After and X-Rate-Limit-Problem ([U] body shape: the gateway's problem document)."""
    return problem(429, "Too Many Requests", f"Rate limit exceeded: {limit_problem}",
                   {"Retry-After": str(retry_after), "X-Rate-Limit-Problem": limit_problem, **remaining})


def server_error() -> ApiError:
    """500, as an injected fault sends it ([U] body shape)."""
    return problem(500, "Internal Server Error", "An unexpected error occurred. Please try again later.")
