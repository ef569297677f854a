"""QuickBooks Online <-> normalized objects: pure functions, Decimal throughout, no HTTP."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from bridge.errors import LedgerRejected
from bridge.ledgers.base import money
from bridge.ledgers.quickbooks import facts

HUNDRED = Decimal(100)
SOURCE_NOTE = "Invoice Bridge: {}"
"""PrivateNote of every object we write: the way back from QBO to the source object."""
SOURCE_NOTE_PATTERN = re.compile(r"Invoice Bridge: (?:external_id )?(.+)")  # (older notes said "external_id")
DRAFT_WARNING = "QuickBooks Online has no draft invoices; written as open"

FIELD_BY_CODE = {
    facts.FAULT_DUPLICATE_DOC_NUMBER: "number",
    facts.FAULT_DUPLICATE_NAME: "customer.name",
}
"""Fault codes that always point at one normalized field."""
FIELD_BY_ELEMENT = {
    "DocNumber": "number", "DisplayName": "customer.name", "CompanyName": "customer.name",
    "PrimaryEmailAddr": "customer.email", "PrimaryPhone": "customer.phone",
    "BillAddr": "customer.address", "CustomerRef": "customer", "TxnDate": "issue_date",
    "DueDate": "due_date", "CurrencyRef": "currency", "ExchangeRate": "exchange_rate",
    "CustomerMemo": "memo", "GlobalTaxCalculation": "amounts_include_tax",
    "TxnTaxDetail": "mapping.quickbooks.txn_tax_code", "TxnTaxCodeRef": "mapping.quickbooks.txn_tax_code",
    "TotalAmt": "amount", "PaymentRefNum": "reference", "DepositToAccountRef": "deposit_account",
    "Line": "lines",
}
"""QBO Fault `element` (first segment) -> our field path."""
ADDRESS_FIELDS = {"Line1": "line1", "Line2": "line2", "City": "city", "CountrySubDivisionCode": "region",
                  "PostalCode": "postal_code", "Country": "country"}
ENTITY_PREFIXES = ("Invoice.", "Customer.", "Payment.", "CreditMemo.")


# --- numbers ---------------------------------------------------------------------------------------

QUANTA = {places: Decimal(1).scaleb(-places) for places in range(0, 11)}
"""1, 0.1, 0.01, ...: rounding steps built once (payload building is on the hot path)."""


def round_half_up(value: Decimal, places: int = facts.AMOUNT_PLACES) -> Decimal:
    """Round to `places` decimals, halves away from zero (how QBO rounds line amounts)."""
    return value.quantize(QUANTA[places], rounding=ROUND_HALF_UP)


def decimal_places(value: Decimal) -> int:
    """Significant decimals of `value` (trailing zeros do not count)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    if -exponent <= facts.AMOUNT_PLACES:  # no caller's limit is below this: trailing zeros cannot matter
        return -exponent
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _decimal(value) -> Decimal:
    """A Decimal as is; anything else converted (no re-wrapping on the hot path)."""
    return value if type(value) is Decimal else Decimal(value)


def fold_discount(quantity: Decimal, unit_price: Decimal, percent: Decimal | None) -> Decimal | None:
    """The unit price with `percent` off, if QBO can hold it exactly and the line amount is unchanged.

    QBO has no line discount. The folded price is exact when it has at most
    facts.UNIT_PRICE_PLACES decimals; then Qty x UnitPrice rounds to the same 2-decimal amount as
    the discounted line. None means the discount cannot be folded and the line must be refused.
    """
    quantity, unit_price = Decimal(quantity), Decimal(unit_price)
    percent = Decimal(percent or 0)
    if not percent:
        return unit_price
    folded = unit_price * (HUNDRED - percent) / HUNDRED
    places = decimal_places(folded)
    if places > facts.UNIT_PRICE_PLACES:
        return None
    folded = folded.quantize(Decimal(1).scaleb(-max(places, facts.AMOUNT_PLACES)))
    discounted = quantity * unit_price - quantity * unit_price * percent / HUNDRED
    if round_half_up(quantity * folded) != round_half_up(discounted):
        return None
    return folded


def discount_errors(lines: list[dict]) -> list[dict]:
    """Field errors for the lines whose discount cannot be folded (the API's 422 before queueing)."""
    errors = []
    for index, line in enumerate(lines or []):
        if line.get("discount_percent") and fold_discount(
                line["quantity"], line["unit_price"], line["discount_percent"]) is None:
            errors.append(_discount_error(index, line))
    return errors


def _discount_error(index: int, line: dict) -> dict:
    """The refusal of one line whose discount cannot be folded."""
    return {"field": f"lines[{index}].discount_percent", "code": "discount_not_exact",
            "message": (f"QuickBooks Online has no line discounts, and {_number(line['discount_percent'])}% "
                        f"off {_number(line['unit_price'])} is not exact at {facts.UNIT_PRICE_PLACES} "
                        "decimals: send the discounted unit price, or the discount as its own line")}


def _number(value) -> str:
    """A Decimal as plain text without trailing zeros ("10", "12.5")."""
    return format(Decimal(value).normalize(), "f")


def _iso(value) -> str | None:
    """A date (or ISO string) as QBO's YYYY-MM-DD."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _date(value: str | None) -> date | None:
    """QBO's YYYY-MM-DD to a date."""
    return date.fromisoformat(value[:10]) if value else None


def _ref(value) -> dict:
    """A QBO reference object."""
    return {"value": str(value)}


def _ref_value(ref: dict | None) -> str | None:
    """The id inside a QBO reference object."""
    return (ref or {}).get("value")


def _decimal_or_none(value) -> Decimal | None:
    """A JSON number (parsed as Decimal or int) as Decimal; None stays None."""
    return None if value is None else money(value)


def source_external_id(private_note: str | None) -> str | None:
    """The external_id we wrote into PrivateNote, if it is there."""
    found = SOURCE_NOTE_PATTERN.search(private_note or "")
    return found.group(1).strip() if found else None


def merged_private_note(current: str | None, ours: str) -> str:
    """Our PrivateNote (the back-reference line) first, then every other line the invoice already has
    (notes added through the bridge, the bookkeeper's own text): an update never clobbers them."""
    kept = [line for line in (current or "").splitlines() if not SOURCE_NOTE_PATTERN.match(line)]
    return "\n".join([ours, *kept]) if ours else "\n".join(kept)


def appended_private_note(current: str | None, text: str) -> str:
    """A PrivateNote with `text` added at the end, or LedgerRejected naming `text` when it is too long."""
    note = "\n".join(part for part in ((current or "").rstrip(), text.strip()) if part)
    if len(note) > facts.PRIVATE_NOTE_MAX:
        raise LedgerRejected("The invoice's private note would be too long for QuickBooks Online", errors=[
            {"field": "text", "code": "too_long",
             "message": f"QuickBooks Online keeps at most {facts.PRIVATE_NOTE_MAX} characters of private note"}])
    return note


# --- customers -------------------------------------------------------------------------------------

def customer_payload(customer: dict, company: dict | None = None) -> dict:
    """A normalized customer as a QBO Customer body."""
    name = (customer.get("name") or "").strip()
    if not name:
        raise LedgerRejected("A QuickBooks customer needs a name", errors=[
            {"field": "customer.name", "message": "Required: QuickBooks Online needs a DisplayName",
             "code": "required"}])
    if len(name) > facts.DISPLAY_NAME_MAX:
        raise LedgerRejected("Customer name too long for QuickBooks Online", errors=[
            {"field": "customer.name", "code": "too_long",
             "message": f"At most {facts.DISPLAY_NAME_MAX} characters in QuickBooks Online"}])
    body = {"DisplayName": name, "CompanyName": name}
    if customer.get("email"):
        body["PrimaryEmailAddr"] = {"Address": customer["email"]}
    if customer.get("phone"):
        body["PrimaryPhone"] = {"FreeFormNumber": customer["phone"]}
    address = {qbo: customer["address"][ours] for qbo, ours in ADDRESS_FIELDS.items()
               if (customer.get("address") or {}).get(ours)}
    if address:
        body["BillAddr"] = address
    if customer.get("currency"):
        body["CurrencyRef"] = _ref(customer["currency"])
    if customer.get("tax_number") and (company or {}).get("country") not in (None, facts.US):
        body["PrimaryTaxIdentifier"] = customer["tax_number"]  # "Tax Reg. No" outside the US
    if customer.get("external_id"):
        body["Notes"] = SOURCE_NOTE.format(customer["external_id"])
    return body


def customer_from_qbo(qbo: dict) -> dict:
    """A QBO Customer as a normalized customer."""
    address = {ours: (qbo.get("BillAddr") or {}).get(qbo_key) for qbo_key, ours in ADDRESS_FIELDS.items()}
    return {
        "ledger_id": qbo.get("Id"),
        "external_id": source_external_id(qbo.get("Notes")),
        "name": qbo.get("DisplayName"),
        "company_name": qbo.get("CompanyName"),
        "email": (qbo.get("PrimaryEmailAddr") or {}).get("Address"),
        "phone": (qbo.get("PrimaryPhone") or {}).get("FreeFormNumber"),
        "address": address if any(address.values()) else None,
        "currency": _ref_value(qbo.get("CurrencyRef")),
        "balance": _decimal_or_none(qbo.get("Balance")),
        "active": qbo.get("Active", True),
    }


# --- reference data ----------------------------------------------------------------------------------

BANK_ACCOUNT_TYPES = frozenset({"Bank", "Other Current Asset"})
"""Account types QBO lets payments be deposited to (Undeposited Funds is an Other Current Asset)."""


def account_from_qbo(qbo: dict) -> dict:
    """A QBO Account as a normalized account; `id` is its Id (what mappings use)."""
    return {"id": qbo.get("Id"), "code": qbo.get("AcctNum"), "name": qbo.get("Name"),
            "type": qbo.get("AccountType"), "class": qbo.get("Classification"),
            "currency": _ref_value(qbo.get("CurrencyRef")), "bank": qbo.get("AccountType") in BANK_ACCOUNT_TYPES,
            "active": qbo.get("Active", True), "extra": {"sub_type": qbo.get("AccountSubType"),
                                                         "fully_qualified_name": qbo.get("FullyQualifiedName")}}


def tax_code_from_qbo(qbo: dict, rates: dict[str, Decimal]) -> dict:
    """A QBO TaxCode as a normalized tax rate: its sales rates added up (percent, Decimal)."""
    details = ((qbo.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
    rate = sum((rates.get(_ref_value(detail.get("TaxRateRef")), Decimal("0")) for detail in details), Decimal("0"))
    return {"id": qbo.get("Id"), "name": qbo.get("Name"), "rate": rate, "active": qbo.get("Active", True),
            "extra": {"description": qbo.get("Description"), "taxable": qbo.get("Taxable")}}


def item_from_qbo(qbo: dict) -> dict:
    """A QBO Item as a normalized item; `id` is its Id (what mappings use)."""
    return {"id": qbo.get("Id"), "code": qbo.get("Sku") or qbo.get("Name"), "name": qbo.get("Name"),
            "unit_price": _decimal_or_none(qbo.get("UnitPrice")),
            "income_account": _ref_value(qbo.get("IncomeAccountRef")), "active": qbo.get("Active", True),
            "extra": {"type": qbo.get("Type")}}


def item_payload(item: dict) -> dict:
    """A product the invoicing platform owns (`{code, description, account, field}`) as a new QBO Service
    item named by its code, with the income account QBO requires; LedgerRejected names `field`."""
    field, name = item.get("field") or "product_code", str(item["code"]).strip()
    errors = []
    if len(name) > facts.ITEM_NAME_MAX:
        errors.append({"field": field, "code": "too_long",
                       "message": f"QuickBooks Online item names take at most {facts.ITEM_NAME_MAX} characters: "
                                  "map this product to an existing item"})
    if not item.get("account"):
        errors.append({"field": field, "code": "mapping_missing",
                       "message": f"QuickBooks Online needs an income account to create the item {name!r}: map "
                                  f"products.{item['code']}.account, or set defaults.income_account"})
    if errors:
        raise LedgerRejected(f"QuickBooks Online cannot create the item {name!r}", errors=errors)
    body = {"Name": name, "Type": facts.ITEM_TYPE_SERVICE, "IncomeAccountRef": _ref(item["account"])}
    if item.get("description"):
        body["Description"] = item["description"][:facts.ITEM_DESCRIPTION_MAX]
    return body


# --- invoices and credit memos ---------------------------------------------------------------------

def needs_default_item(document: dict, mapping: dict | None) -> bool:
    """True when some line has neither a mapped item nor mapping.defaults.item."""
    mapping = mapping or {}
    products = mapping.get("products") or {}
    if (mapping.get("defaults") or {}).get("item"):
        return False
    return any(not (products.get(line.get("product_code")) or {}).get("item")
               for line in document.get("lines") or [])


def invoice_payload(invoice: dict, customer_id: str, mapping: dict | None,
                    company: dict) -> tuple[dict, list[str]]:
    """A normalized invoice as a QBO Invoice body, with warnings; LedgerRejected names bad fields."""
    warnings, errors = [], []
    body = _header(invoice, customer_id, company, errors)
    if invoice.get("due_date"):
        body["DueDate"] = _iso(invoice["due_date"])
    body.update(_lines_and_tax(invoice, mapping or {}, company, warnings, errors))
    if invoice.get("status") == "draft":
        warnings.append(DRAFT_WARNING)
    if errors:
        raise LedgerRejected("QuickBooks Online cannot take this invoice as it is", errors=errors)
    return body, warnings


def credit_memo_payload(credit_note: dict, customer_id: str, mapping: dict | None,
                        company: dict) -> tuple[dict, list[str]]:
    """A normalized credit note as a QBO CreditMemo body, with warnings."""
    warnings, errors = [], []
    body = _header(credit_note, customer_id, company, errors)
    body.update(_lines_and_tax(credit_note, mapping or {}, company, warnings, errors))
    if errors:
        raise LedgerRejected("QuickBooks Online cannot take this credit note as it is", errors=errors)
    return body, warnings


def _header(document: dict, customer_id: str, company: dict, errors: list) -> dict:
    """Fields shared by invoices and credit memos: customer, number, date, currency, notes."""
    body = {"CustomerRef": _ref(customer_id)}
    if document.get("issue_date"):
        body["TxnDate"] = _iso(document["issue_date"])
    number = document.get("number")
    if number:
        if len(number) > facts.DOC_NUMBER_MAX:
            errors.append({"field": "number", "code": "too_long",
                           "message": f"At most {facts.DOC_NUMBER_MAX} characters in QuickBooks Online"})
        body["DocNumber"] = number
    currency = document.get("currency")
    if currency:
        body["CurrencyRef"] = _ref(currency)
        home = company.get("home_currency")
        if home and currency != home:
            if company.get("multi_currency") is False:
                errors.append({"field": "currency", "code": "unsupported",
                               "message": f"This QuickBooks company has multicurrency off: use {home}"})
            if document.get("exchange_rate") is not None:
                body["ExchangeRate"] = Decimal(document["exchange_rate"])
    if document.get("external_id"):
        body["PrivateNote"] = SOURCE_NOTE.format(document["external_id"])
    memo = document.get("memo")
    if memo:
        if len(memo) > facts.CUSTOMER_MEMO_MAX:
            errors.append({"field": "memo", "code": "too_long",
                           "message": f"At most {facts.CUSTOMER_MEMO_MAX} characters in QuickBooks Online"})
        body["CustomerMemo"] = {"value": memo}
    return body


def _lines_and_tax(document: dict, mapping: dict, company: dict, warnings: list, errors: list) -> dict:
    """The Line array and the transaction's tax fields, region-aware (facts §1.7)."""
    us = company.get("country") == facts.US
    inclusive = bool(document.get("amounts_include_tax"))
    uses_tax = company.get("uses_sales_tax") is not False
    lines, taxable = [], False
    for index, line in enumerate(document.get("lines") or []):
        row = _sales_line(index, line, mapping, company, warnings, errors)
        if row is None:
            continue
        detail = row["SalesItemLineDetail"]
        if us:
            code = _us_tax_code(index, line, mapping, warnings, errors)
            taxable = taxable or code == facts.US_TAXABLE
            detail["TaxCodeRef"] = _ref(code)
        elif uses_tax:
            code = _tax_code(index, line, mapping, warnings, errors)
            if code:
                detail["TaxCodeRef"] = _ref(code)
            if inclusive:
                detail["TaxInclusiveAmt"] = row["Amount"]
        lines.append(row)
    body = {"Line": lines}
    if us:
        body.update(_us_transaction_tax(taxable, inclusive, mapping, company, errors))
    elif uses_tax:
        body["GlobalTaxCalculation"] = facts.TAX_INCLUSIVE if inclusive else facts.TAX_EXCLUDED
    else:
        body["GlobalTaxCalculation"] = facts.TAX_NOT_APPLICABLE
        if any(line.get("tax_category") for line in document.get("lines") or []):
            warnings.append("This QuickBooks company does not use sales tax; tax categories ignored")
    return body


def _sales_line(index: int, line: dict, mapping: dict, company: dict, warnings: list,
                errors: list) -> dict | None:
    """One SalesItemLineDetail line without tax, or None (and an error) when it cannot be written."""
    quantity, unit_price = _decimal(line["quantity"]), _decimal(line["unit_price"])
    percent = line.get("discount_percent")
    if percent:
        percent = _decimal(percent)
        folded = fold_discount(quantity, unit_price, percent)
        if folded is None:
            errors.append(_discount_error(index, line))
            return None
        warnings.append(f"lines[{index}]: {_number(percent)}% discount folded into the unit price")
        unit_price = folded
    elif unit_price != unit_price.quantize(QUANTA[facts.UNIT_PRICE_PLACES]):  # more decimals than QBO keeps
        errors.append({"field": f"lines[{index}].unit_price", "code": "too_precise",
                       "message": f"At most {facts.UNIT_PRICE_PLACES} decimals in QuickBooks Online"})
        return None
    item = _item(index, line, mapping, company, warnings, errors)
    detail = {"Qty": quantity, "UnitPrice": unit_price}
    if item:
        detail["ItemRef"] = _ref(item)
    row = {"DetailType": "SalesItemLineDetail", "Amount": round_half_up(quantity * unit_price),
           "SalesItemLineDetail": detail}
    if line.get("description"):
        row["Description"] = line["description"]
    return row


def _item(index: int, line: dict, mapping: dict, company: dict, warnings: list, errors: list) -> str | None:
    """The line's ItemRef: the product's mapped item, else the default item, else the company's."""
    code = line.get("product_code")
    product = (mapping.get("products") or {}).get(code) or {} if code else {}
    item = product.get("item") or (mapping.get("defaults") or {}).get("item") or company.get("default_item")
    if code and not product.get("item") and item:
        warnings.append(f"lines[{index}]: product {code!r} has no QuickBooks item mapped; "
                        f"written with the default item {item}")
    account = line.get("account_code") or product.get("account")
    if account:
        warnings.append(f"lines[{index}]: income account {account} not applied: on QuickBooks Online "
                        "the income account belongs to the item")
    if not item:
        errors.append({"field": f"lines[{index}].product_code", "code": "mapping_missing",
                       "message": "No QuickBooks item for this line: map the product, or set defaults.item"})
    return item


def _us_tax_code(index: int, line: dict, mapping: dict, warnings: list, errors: list) -> str:
    """TAX or NON for a US company's line; an unmapped category without defaults.tax_code is an error."""
    category = line.get("tax_category")
    default = (mapping.get("defaults") or {}).get("tax_code")
    if category is None:
        code = default
    else:
        code = (mapping.get("tax_categories") or {}).get(category)
        if code is None and default:
            code = default
            warnings.append(f"lines[{index}]: tax category {category!r} is not mapped; "
                            f"written with the default tax code {default}")
        elif code is None:
            errors.append({"field": f"lines[{index}].tax_category", "code": "mapping_missing",
                           "message": f"Tax category {category!r} is not mapped: map it to "
                                      f"{facts.US_TAXABLE} or {facts.US_NON_TAXABLE}, or set defaults.tax_code"})
        elif code not in (facts.US_TAXABLE, facts.US_NON_TAXABLE):
            warnings.append(f"lines[{index}]: tax category {category!r} maps to {code!r}; a US company "
                            f"takes {facts.US_TAXABLE} or {facts.US_NON_TAXABLE}: written as "
                            f"{facts.US_NON_TAXABLE}")
    return facts.US_TAXABLE if code == facts.US_TAXABLE else facts.US_NON_TAXABLE


def _us_transaction_tax(taxable: bool, inclusive: bool, mapping: dict, company: dict, errors: list) -> dict:
    """TxnTaxDetail of a US invoice: one transaction tax code when any line is taxable."""
    if not taxable:
        return {}
    if inclusive:
        errors.append({"field": "amounts_include_tax", "code": "unsupported",
                       "message": "QuickBooks Online US companies take amounts before tax only"})
    if company.get("automated_sales_tax"):
        return {}  # Automated Sales Tax computes the tax from the ship-to address
    code = (mapping.get("quickbooks") or {}).get("txn_tax_code")
    if not code:
        errors.append({"field": "mapping.quickbooks.txn_tax_code", "code": "mapping_missing",
                       "message": "A US QuickBooks company needs a transaction tax code for taxable lines"})
        return {}
    return {"TxnTaxDetail": {"TxnTaxCodeRef": _ref(code)}}


def _tax_code(index: int, line: dict, mapping: dict, warnings: list, errors: list) -> str | None:
    """A non-US line's TaxCode Id: the category's mapped code, else defaults.tax_code."""
    category = line.get("tax_category")
    code = (mapping.get("tax_categories") or {}).get(category) if category else None
    if code is None:
        code = (mapping.get("defaults") or {}).get("tax_code")
        if category and code:
            warnings.append(f"lines[{index}]: tax category {category!r} is not mapped; "
                            f"written with the default tax code {code}")
    if code is None:
        errors.append({"field": f"lines[{index}].tax_category", "code": "mapping_missing",
                       "message": "No QuickBooks tax code for this line: map its tax category, "
                                  "or set defaults.tax_code"})
    return code


def invoice_status(qbo: dict) -> str:
    """open, partially_paid, paid or void, from TotalAmt, Balance and the void marker."""
    total, balance = money(qbo.get("TotalAmt")), money(qbo.get("Balance"))
    if total == 0 and (qbo.get("PrivateNote") or "").startswith(facts.VOIDED_NOTE):
        return "void"
    if balance <= 0:
        return "paid"
    if balance < total:
        return "partially_paid"
    return "open"


def _lines_from_qbo(qbo: dict) -> list[dict]:
    """The SalesItemLineDetail lines of a QBO transaction, normalized."""
    lines = []
    for line in qbo.get("Line") or []:
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        detail = line.get("SalesItemLineDetail") or {}
        lines.append({
            "description": line.get("Description"),
            "quantity": _decimal_or_none(detail.get("Qty")),
            "unit_price": _decimal_or_none(detail.get("UnitPrice")),
            "amount": money(line.get("Amount")),
            "item": _ref_value(detail.get("ItemRef")),
            "tax_code": _ref_value(detail.get("TaxCodeRef")),
        })
    return lines


def _document_from_qbo(qbo: dict) -> dict:
    """Fields shared by QBO invoices and credit memos, normalized."""
    lines = _lines_from_qbo(qbo)
    subtotal = sum((line["amount"] for line in lines), Decimal("0"))
    customer = qbo.get("CustomerRef") or {}
    memo = (qbo.get("CustomerMemo") or {}).get("value")
    return {
        "ledger_id": qbo.get("Id"),
        "external_id": source_external_id(qbo.get("PrivateNote")),
        "number": qbo.get("DocNumber"),
        "customer": {"ledger_id": customer.get("value"), "name": customer.get("name")},
        "issue_date": _date(qbo.get("TxnDate")),
        "currency": _ref_value(qbo.get("CurrencyRef")),
        "exchange_rate": _decimal_or_none(qbo.get("ExchangeRate")),
        "amounts_include_tax": qbo.get("GlobalTaxCalculation") == facts.TAX_INCLUSIVE,
        "lines": lines,
        "memo": memo,
        "totals": {"subtotal": subtotal,
                   "tax": money((qbo.get("TxnTaxDetail") or {}).get("TotalTax")),
                   "total": money(qbo.get("TotalAmt"))},
    }


def invoice_from_qbo(qbo: dict) -> dict:
    """A QBO Invoice as a normalized invoice (read back)."""
    invoice = _document_from_qbo(qbo)
    invoice.update(due_date=_date(qbo.get("DueDate")), balance=money(qbo.get("Balance")),
                   status=invoice_status(qbo))
    return invoice


def credit_memo_from_qbo(qbo: dict) -> dict:
    """A QBO CreditMemo as a normalized credit note (read back)."""
    credit_note = _document_from_qbo(qbo)
    credit_note["remaining_credit"] = _decimal_or_none(qbo.get("RemainingCredit"))
    return credit_note


# --- payments --------------------------------------------------------------------------------------

def _amount(value, field: str) -> Decimal:
    """A 2-decimal amount, refused (naming `field`) when it has more decimals."""
    amount = Decimal(value)
    if decimal_places(amount) > facts.AMOUNT_PLACES:
        raise LedgerRejected("Amount too precise for QuickBooks Online", errors=[
            {"field": field, "code": "too_precise", "message": "At most 2 decimals"}])
    return amount


def payment_payload(payment: dict, invoice_id: str, customer_id: str, mapping: dict | None) -> dict:
    """A normalized payment as a QBO Payment applied to one invoice."""
    amount = _amount(payment["amount"], "amount")
    body = {
        "CustomerRef": _ref(customer_id),
        "TotalAmt": amount,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": str(invoice_id), "TxnType": "Invoice"}]}],
    }
    if payment.get("date"):
        body["TxnDate"] = _iso(payment["date"])
    reference = payment.get("reference")
    if reference:
        if len(reference) > facts.PAYMENT_REF_MAX:
            raise LedgerRejected("Payment reference too long for QuickBooks Online", errors=[
                {"field": "reference", "code": "too_long",
                 "message": f"At most {facts.PAYMENT_REF_MAX} characters in QuickBooks Online"}])
        body["PaymentRefNum"] = reference
    account = payment.get("deposit_account") or ((mapping or {}).get("defaults") or {}).get("payment_account")
    if account:
        body["DepositToAccountRef"] = _ref(account)
    if payment.get("currency"):
        body["CurrencyRef"] = _ref(payment["currency"])
    if payment.get("exchange_rate") is not None:
        body["ExchangeRate"] = Decimal(payment["exchange_rate"])
    note = SOURCE_NOTE.format(payment["external_id"]) if payment.get("external_id") else ""
    if payment.get("method"):
        note = f"{note}\nmethod: {payment['method']}".strip()
    if note:
        body["PrivateNote"] = note
    return body


def allocation_payload(customer_id: str, invoice_id: str, credit_memo_id: str, amount: Decimal,
                       txn_date, currency: str | None = None, note: str | None = None) -> dict:
    """A TotalAmt-0 Payment that applies `amount` of a credit memo to an invoice."""
    amount = _amount(amount, "allocations.amount")
    body = {
        "CustomerRef": _ref(customer_id),
        "TotalAmt": Decimal("0.00"),
        "TxnDate": _iso(txn_date),
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": str(invoice_id), "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": str(credit_memo_id), "TxnType": "CreditMemo"}]},
        ],
    }
    if currency:
        body["CurrencyRef"] = _ref(currency)
    if note:
        body["PrivateNote"] = note
    return body


def payment_from_qbo(qbo: dict) -> dict:
    """A QBO Payment as a normalized payment (read back)."""
    applied = [{"ledger_id": linked.get("TxnId"), "type": linked.get("TxnType"), "amount": money(line.get("Amount"))}
               for line in qbo.get("Line") or [] for linked in line.get("LinkedTxn") or []]
    return {
        "ledger_id": qbo.get("Id"),
        "external_id": source_external_id(qbo.get("PrivateNote")),
        "customer": {"ledger_id": _ref_value(qbo.get("CustomerRef"))},
        "amount": money(qbo.get("TotalAmt")),
        "date": _date(qbo.get("TxnDate")),
        "currency": _ref_value(qbo.get("CurrencyRef")),
        "exchange_rate": _decimal_or_none(qbo.get("ExchangeRate")),
        "reference": qbo.get("PaymentRefNum"),
        "deposit_account": _ref_value(qbo.get("DepositToAccountRef")),
        "unapplied": _decimal_or_none(qbo.get("UnappliedAmt")),
        "applied_to": applied,
    }


# --- company ---------------------------------------------------------------------------------------

def company_from_qbo(realm_id: str, company_info: dict, preferences: dict) -> dict:
    """CompanyInfo + Preferences as the tenant facts the adapter keeps (`tenant_info`)."""
    country = company_info.get("Country") or (company_info.get("CompanyAddr") or {}).get("Country")
    country = {"UK": "GB", "USA": "US"}.get(country, country)
    currency_prefs = preferences.get("CurrencyPrefs") or {}
    tax_prefs = preferences.get("TaxPrefs") or {}
    return {
        "id": str(realm_id),
        "name": company_info.get("CompanyName") or company_info.get("LegalName"),
        "country": country,
        "home_currency": _ref_value(currency_prefs.get("HomeCurrency")),
        "multi_currency": bool(currency_prefs.get("MultiCurrencyEnabled", False)),
        "uses_sales_tax": bool(tax_prefs.get("UsingSalesTax", False)),
        "automated_sales_tax": bool(tax_prefs.get("PartnerTaxEnabled", False)),
    }


# --- faults ----------------------------------------------------------------------------------------

def fault_errors(body) -> list[dict]:
    """A QBO Fault body as `[{field, message, code}]` with OUR field paths."""
    fault = body.get("Fault") if isinstance(body, dict) else None
    errors = []
    for error in (fault or {}).get("Error") or []:
        code = str(error.get("code") or "")
        message, detail = error.get("Message") or "", error.get("Detail") or ""
        text = f"{message}: {detail}" if detail and detail != message else message or detail
        errors.append({"field": fault_field(code, error.get("element") or ""), "message": text, "code": code})
    return errors


def fault_field(code: str, element: str) -> str:
    """Our field path for a Fault's code and element; the raw element when we have no name for it."""
    if code in FIELD_BY_CODE:
        return FIELD_BY_CODE[code]
    path = element
    for prefix in ENTITY_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
    head, _, rest = path.partition(".")
    head = re.sub(r"\[\d+\]$", "", head)
    if head == "BillAddr" and rest in ADDRESS_FIELDS:
        return f"customer.address.{ADDRESS_FIELDS[rest]}"
    if head in FIELD_BY_ELEMENT:
        return FIELD_BY_ELEMENT[head]
    last = path.rsplit(".", 1)[-1]
    return FIELD_BY_ELEMENT.get(last, element)


# --- reconciliation ----------------------------------------------------------------------------------

def applied_payments(invoice_id: str, payments: list[dict]) -> list[dict]:
    """The customer payments applied to one invoice, `{ledger_id, amount, date}` (the amount of the
    line that links the invoice); payments that apply a credit memo are allocations, left out."""
    applied = []
    for payment in payments:
        links = [(line, link) for line in payment.get("Line") or [] for link in line.get("LinkedTxn") or []]
        if any(link.get("TxnType") == "CreditMemo" for _, link in links):
            continue
        amount = sum((money(line.get("Amount")) for line, link in links
                      if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == str(invoice_id)), Decimal("0"))
        if links and amount:
            applied.append({"ledger_id": payment.get("Id"), "amount": amount, "date": _date(payment.get("TxnDate"))})
    return applied
