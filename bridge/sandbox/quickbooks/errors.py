"""QBO Fault bodies: `{"Fault": {"Error": [...], "type": ...}, "time": ...}`.

Codes and texts follow Intuit's error pages and bodies quoted in public issue threads
(dic/develop/troubleshooting/handling-common-errors; facts §1.7). Bands: 1-499 auth,
500-599 unsupported, 600-1999 general (610 not found), 2000-4999 validation, >=10000 severe.
"""

from __future__ import annotations

AUTH_MESSAGE = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
OBJECT_NOT_FOUND_DETAIL = ("Object Not Found : Something you're trying to use has been made inactive. "
                           "Check the fields with accounts, customers, items, vendors or employees.")
BUSINESS_VALIDATION_MESSAGE = "A business validation error has occurred while processing your request"
SYSTEM_FAILURE_DETAIL = ("System Failure Error: An unexpected error occurred while accessing or saving your "
                         "data. Please wait a few minutes and try again. If the problem persists, contact "
                         "customer support.")


class QBOFault(Exception):
    """A QBO error answer: HTTP status, fault type and error entries."""

    def __init__(self, status: int, fault_type: str, errors: list[dict]):
        super().__init__(errors[0].get("Detail") or errors[0].get("Message"))
        self.status = status
        self.fault_type = fault_type
        self.errors = errors

    def fault(self) -> dict:
        """The `Fault` object (used alone inside batch item responses)."""
        return {"Error": [dict(error) for error in self.errors], "type": self.fault_type}

    def body(self, time_text: str) -> dict:
        """The whole response body."""
        return {"Fault": self.fault(), "time": time_text}


def validation(code: str, message: str, detail: str, element: str = "", status: int = 400) -> QBOFault:
    """A ValidationFault with one error."""
    return QBOFault(status, "ValidationFault",
                    [{"Message": message, "Detail": detail, "code": code, "element": element}])


def business(detail: str, element: str = "") -> QBOFault:
    """Code 6000: a business rule refused the request."""
    return validation("6000", BUSINESS_VALIDATION_MESSAGE, f"Business Validation Error: {detail}", element)


def required(name: str, element: str | None = None) -> QBOFault:
    """Code 2020: a required field is missing."""
    return validation("2020", "Required param missing, need to supply the required value for the API",
                      f"Required parameter {name} is missing in the request", element or name)


def invalid_property(name: str, reason: str = "specified is unsupported or invalid") -> QBOFault:
    """Code 2010: an unknown or malformed property."""
    return validation("2010", "Request has invalid or unsupported property",
                      f"Property Name:{name} {reason}", name)


def invalid_reference(element: str) -> QBOFault:
    """Code 2500: a reference (CustomerRef, ItemRef, TaxCodeRef...) names nothing usable."""
    return validation("2500", "Invalid Reference Id", f"Invalid Reference Id : {element}", element)


def invalid_number(element: str, value) -> QBOFault:
    """Code 2040: a number field holds something that is not a number."""
    return validation("2040", "Invalid Number", f"Invalid Number : {element} : {value!r}", element)


def object_not_found(entity: str, object_id: str) -> QBOFault:
    """Code 610: the object does not exist (or was deleted)."""
    return validation("610", "Object Not Found", OBJECT_NOT_FOUND_DETAIL, "")


def stale_object() -> QBOFault:
    """Code 5010: SyncToken is not the current one."""
    return validation("5010", "Stale Object Error",
                      "Stale Object Error : You and sandbox-user were working on this at the same time. "
                      "sandbox-user finished before you did, so your work was not saved.", "")


def duplicate_name(name: str, holder: str = "customer, vendor or employee") -> QBOFault:
    """Code 6240: the name is already used by another customer (or item, account)."""
    return validation("6240", "Duplicate Name Exists Error",
                      f"The name supplied already exists. : Another {holder} is already using this name "
                      f"({name}). Please use a different name.", "")


def too_long(element: str, maximum: int, length: int) -> QBOFault:
    """Code 2050: a string is longer than the field allows."""
    return validation("2050", "String length specified does not match the supported length",
                      f"String length specified does not match the supported length. Min:0 Max:{maximum} "
                      f"supported. Supplied length:{length}", element)


def duplicate_doc_number(doc_number: str) -> QBOFault:
    """Code 6140: DocNumber already used by another transaction of the same type."""
    return validation("6140", "Duplicate Document Number Error",
                      f"Duplicate Document Number Error : You must specify a different number. "
                      f"This number has already been used. DocNumber={doc_number}", "DocNumber")


def unsupported(detail: str) -> QBOFault:
    """Code 500: an operation the entity does not support."""
    return validation("500", "Unsupported Operation", f"Operation {detail} is not supported.", "")


def query_parse(detail: str) -> QBOFault:
    """Code 4000: the query does not parse."""
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}", "")


def query_invalid(detail: str) -> QBOFault:
    """Code 4001: the query parses but names something that cannot be queried."""
    return validation("4001", "Invalid query", f"QueryValidationError: {detail}", "")


def authentication_failed(detail: str) -> QBOFault:
    """401 AUTHENTICATION fault (code 3200)."""
    return QBOFault(401, "AUTHENTICATION", [{"Message": AUTH_MESSAGE, "Detail": detail, "code": "3200"}])


def throttled() -> QBOFault:
    """429 SERVICE fault (code 3001)."""
    return QBOFault(429, "SERVICE", [{"Message": THROTTLE_MESSAGE, "Detail": "The request limit was reached.",
                                      "code": "3001"}])


def system_failure() -> QBOFault:
    """500 SystemFault (code 10000)."""
    return QBOFault(500, "SystemFault", [{"Message": "An application error has occurred while processing "
                                                     "your request", "Detail": SYSTEM_FAILURE_DETAIL,
                                          "code": "10000"}])
