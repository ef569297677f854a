"""Contacts: create, update, archive, find; the name is unique among active contacts (spec 400 example)."""

from __future__ import annotations

import copy

from .errors import ItemInvalid
from .reference import tax_rate
from .store import Context, Record, Tenant
from .wire import ms_datetime

CATEGORY = "CONTACT"  # webhook event category (xero-webhooks.yaml)
NAME_MAX = 255  # spec Contact.Name maxLength
CONTACT_NUMBER_MAX = 50  # spec Contact.ContactNumber maxLength
STATUSES = ("ACTIVE", "ARCHIVED")  # GDPRREQUEST is set by Xero, not by API clients
ADDRESS_TYPES = ("POBOX", "STREET")  # spec Address.AddressType
PHONE_TYPES = ("DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE")  # spec Phone.PhoneType
TEXT_LIMITS = {"Name": NAME_MAX, "ContactNumber": CONTACT_NUMBER_MAX, "AccountNumber": 50, "FirstName": 255,
               "LastName": 255, "CompanyNumber": 50, "EmailAddress": 255, "TaxNumber": 50,
               "BankAccountDetails": 255, "XeroNetworkKey": 255, "SalesDefaultAccountCode": 10,
               "PurchasesDefaultAccountCode": 10}
LIST_FIELDS = ("Addresses", "Phones", "ContactPersons")
DUPLICATE_NAME = ("The contact name {name} is already assigned to another contact. The contact name must be "
                  "unique across all active contacts.")
# [U] Xero documents no rule for ContactNumber; the sandbox keeps it unique among active contacts so it
# can serve as the external-id anchor the facts (§2.6) describe.
DUPLICATE_NUMBER = "The contact number {number} is already assigned to another contact."
SUMMARY_FIELDS = ("ContactID", "ContactNumber", "AccountNumber", "ContactStatus", "Name", "FirstName", "LastName",
                  "CompanyNumber", "EmailAddress", "TaxNumber", "DefaultCurrency", "UpdatedDateUTC", "IsSupplier",
                  "IsCustomer", "HasValidationErrors")


def _key(name) -> str:
    return " ".join(str(name or "").split()).lower()


def by_name(tenant: Tenant, name) -> Record | None:
    """The active contact with this name (case and spacing ignored)."""
    wanted = _key(name)
    return next((r for r in tenant.recall("Contact", "contact-name", wanted)
                 if r.body.get("ContactStatus") == "ACTIVE" and _key(r.body.get("Name")) == wanted), None)


def by_number(tenant: Tenant, number, active_only: bool = False) -> Record | None:
    """A contact by ContactNumber (active ones first)."""
    if not isinstance(number, str) or not number:
        return None
    matches = [r for r in tenant.recall("Contact", "contact-number", number) if r.body.get("ContactNumber") == number]
    live = next((r for r in matches if r.body.get("ContactStatus") == "ACTIVE"), None)
    return live if active_only or live is not None else (matches[0] if matches else None)


def _remember(tenant: Tenant, record: Record) -> None:
    tenant.remember("contact-name", _key(record.body.get("Name")), record.id)
    tenant.remember("contact-number", record.body.get("ContactNumber"), record.id)


def find(tenant: Tenant, key: str) -> Record | None:
    """GET /Contacts/{ContactID} or /Contacts/{ContactNumber}."""
    return tenant.get("Contact", key) or by_number(tenant, key)


def render(tenant: Tenant, record: Record, summary: bool = False) -> dict:
    """A Contact as Xero returns it."""
    body = record.body
    out = {"ContactID": record.id}
    for key, value in body.items():
        if not key.startswith("_"):
            out[key] = copy.deepcopy(value)
    for key in LIST_FIELDS:
        out.setdefault(key, [])
    out.update({"UpdatedDateUTC": ms_datetime(record.updated), "ContactGroups": [],
                "IsSupplier": bool(body.get("_supplier")), "IsCustomer": bool(body.get("_customer")),
                "SalesTrackingCategories": [], "PurchasesTrackingCategories": [], "HasAttachments": False,
                "HasValidationErrors": False})
    if summary:
        return {key: out[key] for key in SUMMARY_FIELDS if key in out}
    return out


def reference(tenant: Tenant, contact_id: str) -> dict:
    """The Contact embedded in invoices, credit notes and payments."""
    record = tenant.get("Contact", contact_id)
    if record is None:
        return {"ContactID": contact_id}
    return render(tenant, record)


def _check(ctx: Context, body: dict, record: Record | None, errors: list[str]) -> None:
    tenant = ctx.tenant
    for key, limit in TEXT_LIMITS.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(f"{key} must be text")
        elif len(value) > limit:
            errors.append(f"{key} must not be more than {limit} characters long")
    name = body.get("Name")
    if not isinstance(name, str) or not name.strip():
        errors.append("The contact name must be specified.")
    status = body.get("ContactStatus")
    if status not in STATUSES:
        errors.append(f"ContactStatus '{status}' is not valid")
    elif status == "ACTIVE" and isinstance(name, str) and name.strip():
        other = by_name(tenant, name)
        if other is not None and other is not record:
            errors.append(DUPLICATE_NAME.format(name=name.strip()))
    number = body.get("ContactNumber")
    if status == "ACTIVE" and isinstance(number, str) and number:
        other = by_number(tenant, number, active_only=True)
        if other is not None and other is not record:
            errors.append(DUPLICATE_NUMBER.format(number=number))
    email = body.get("EmailAddress")
    if isinstance(email, str) and email and ("@" not in email or " " in email.strip()):
        errors.append("Email address must be valid.")
    currency = body.get("DefaultCurrency")
    if currency is not None and currency != tenant.base_currency:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    for key in ("AccountsReceivableTaxType", "AccountsPayableTaxType"):
        if body.get(key) not in (None, "") and tax_rate(tenant, body[key]) is None:
            errors.append(f"The TaxType code '{body[key]}' does not exist or cannot be used for this type of "
                          "transaction.")
    for key, kinds, type_key in (("Addresses", ADDRESS_TYPES, "AddressType"), ("Phones", PHONE_TYPES, "PhoneType")):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            errors.append(f"{key} must be a list of objects")
            continue
        for entry in value:
            if entry.get(type_key) is not None and entry[type_key] not in kinds:
                errors.append(f"{type_key} '{entry[type_key]}' is not valid")
    if body.get("ContactPersons") is not None and not isinstance(body["ContactPersons"], list):
        errors.append("ContactPersons must be a list of objects")


def _merge(body: dict, raw: dict) -> dict:
    for key, value in raw.items():
        if key in ("ContactID", "UpdatedDateUTC", "IsSupplier", "IsCustomer", "HasValidationErrors",
                   "ValidationErrors", "StatusAttributeString", "ContactGroups", "HasAttachments", "Balances",
                   "Website", "Discount", "BrandingTheme", "BatchPayments", "Attachments", "MergedToContactID",
                   "SalesTrackingCategories", "PurchasesTrackingCategories", "TrackingCategoryName",
                   "TrackingCategoryOption", "Warnings") or key.startswith("_"):
            continue
        if value is None:
            body.pop(key, None)
        else:
            body[key] = copy.deepcopy(value.strip() if key in ("Name", "ContactNumber") and isinstance(value, str)
                                      else value)
    return body


def upsert(ctx: Context, raw, create_only: bool, path_key: str | None = None) -> Record:
    """PUT creates; POST updates the contact named by ContactID (or ContactNumber), else creates."""
    if not isinstance(raw, dict):
        raise ItemInvalid("A contact must be a JSON object")
    tenant = ctx.tenant
    existing = None
    if path_key is not None:
        existing = find(tenant, path_key)
    elif not create_only:
        if raw.get("ContactID"):
            existing = tenant.get("Contact", raw["ContactID"])
            if existing is None:
                raise ItemInvalid(f"The contact with ContactID '{raw['ContactID']}' could not be found")
        elif raw.get("ContactNumber"):
            existing = by_number(tenant, raw["ContactNumber"])
    if existing is None:
        return create(ctx, raw)
    return update(ctx, existing, raw)


def create(ctx: Context, raw: dict) -> Record:
    """A new active contact."""
    body = _merge({"ContactStatus": "ACTIVE"}, raw)
    errors: list[str] = []
    _check(ctx, body, None, errors)
    if errors:
        raise ItemInvalid(errors)
    record = ctx.add("Contact", body)
    _remember(ctx.tenant, record)
    ctx.change(CATEGORY, record.id, "CREATE")
    return record


def update(ctx: Context, record: Record, raw: dict) -> Record:
    """Merge the fields sent into the contact (archiving included)."""
    body = _merge(copy.deepcopy(record.body), raw)
    errors: list[str] = []
    _check(ctx, body, record, errors)
    if errors:
        raise ItemInvalid(errors)
    ctx.touch(record)
    record.body = body
    _remember(ctx.tenant, record)
    ctx.change(CATEGORY, record.id, "UPDATE")
    return record


def for_document(ctx: Context, raw, errors: list[str]) -> Record | None:
    """The contact of an invoice or credit note: by ContactID, ContactNumber or Name.

    A Name that matches no active contact creates one, as Xero does when an invoice names a new contact.
    """
    if not isinstance(raw, dict) or not any(raw.get(key) for key in ("ContactID", "ContactNumber", "Name")):
        errors.append("A Contact must be specified for this type of transaction")
        return None
    tenant = ctx.tenant
    if raw.get("ContactID"):
        record = tenant.get("Contact", raw["ContactID"])
        if record is None:
            errors.append(f"The contact with ContactID '{raw['ContactID']}' could not be found")
        return record
    record = by_number(tenant, raw.get("ContactNumber")) if raw.get("ContactNumber") else None
    if record is None and raw.get("Name"):
        record = by_name(tenant, raw["Name"])
    if record is None:
        if not raw.get("Name"):
            errors.append(f"The contact with ContactNumber '{raw.get('ContactNumber')}' could not be found")
            return None
        try:
            record = create(ctx, {key: value for key, value in raw.items() if key != "ContactID"})
        except ItemInvalid as invalid:
            errors.extend(invalid.messages)
            return None
    return record


def mark_role(ctx: Context, record: Record, sales: bool) -> None:
    """IsCustomer / IsSupplier follow the documents entered against the contact."""
    flag = "_customer" if sales else "_supplier"
    if not record.body.get(flag):
        ctx.touch(record)
        record.body[flag] = True
