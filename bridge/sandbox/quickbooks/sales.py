"""Sales documents: Invoice and CreditMemo (lines, tax, totals, balances, void)."""

from __future__ import annotations

import copy
from decimal import Decimal

from . import errors, tax
from .common import (EntityKind, check_currency, check_date, check_object, check_string, named_ref,
                     ref_value, to_decimal)

DOC_NUMBER_MAX = 21  # Intuit invoice reference: DocNumber max 21 characters
FIRST_DOC_NUMBER = 1001  # QBO's first automatic invoice number
DEFAULT_ITEM_ID = "1"  # [U] a sales line without ItemRef is booked to the "Services" item, as QBO does
LINE_FIELDS = frozenset({"Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail",
                         "DescriptionLineDetail", "SubTotalLineDetail", "LinkedTxn"})
SALES_DETAIL_FIELDS = frozenset({"ItemRef", "Qty", "UnitPrice", "TaxCodeRef", "ServiceDate", "ClassRef",
                                 "ItemAccountRef", "TaxInclusiveAmt", "DiscountRate", "DiscountAmt",
                                 "MarkupInfo"})
VOIDED_NOTE = "Voided"  # QBO replaces PrivateNote with "Voided" and zeroes the amounts of a voided txn
ZERO = Decimal("0")
BUSINESS_MESSAGE = errors.BUSINESS_VALIDATION_MESSAGE


class SalesDocument(EntityKind):
    """What Invoice and CreditMemo share."""

    writable = deletable = True
    balance_field = "Balance"
    fields = frozenset({
        "CustomerRef", "Line", "DocNumber", "TxnDate", "CurrencyRef", "ExchangeRate", "PrivateNote",
        "CustomerMemo", "EmailStatus", "PrintStatus", "BillEmail", "BillEmailCc", "BillEmailBcc", "BillAddr",
        "ShipAddr", "ShipFromAddr", "TxnTaxDetail", "GlobalTaxCalculation", "ApplyTaxAfterDiscount",
        "ClassRef", "DepartmentRef", "CustomField", "TxnSource", "TransactionLocationType",
        "ProjectRef", "SalesTermRef"})
    read_only = frozenset({"TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "RemainingCredit",
                           "LinkedTxn", "InvoiceLink", "RecurDataRef", "TaxExemptionRef",
                           "CreditCardPayment"})

    def prepare(self, realm, body, record):
        """Check customer, lines, tax codes, DocNumber and dates; fill QBO's defaults."""
        customer_id = ref_value(body, "CustomerRef")
        if customer_id is None:
            raise errors.required("CustomerRef")
        customer = realm.referable("Customer", customer_id)
        if customer is None or not customer.body.get("Active", True):
            raise errors.invalid_reference("CustomerRef")
        body["CustomerRef"] = {"value": customer.id}
        for key in ("BillAddr", "ShipAddr", "BillEmail", "CustomerMemo"):
            check_object(body, key)
        check_string(body, "PrivateNote", 4000)
        check_date(body, "TxnDate")
        for key in ("TxnDate", "DocNumber"):
            if body.get(key) is None and record is not None and record.body.get(key) is not None:
                body[key] = record.body[key]  # system-assigned values survive a full update
        body.setdefault("TxnDate", realm.today(realm_now(realm)))
        self._prepare_dates(body)
        self._prepare_currency(realm, body, customer)
        calculation = self._prepare_tax_mode(realm, body)
        lines = body.get("Line")
        if not isinstance(lines, list):
            raise errors.business("You must fill out at least one split line.", "Line")
        body["Line"] = self._prepare_lines(realm, lines, calculation)
        if not body["Line"]:
            raise errors.business("You must fill out at least one split line.", "Line")
        self._prepare_doc_number(realm, body, record)
        if body.get("BillAddr") is None and customer.body.get("BillAddr") is not None:
            body["BillAddr"] = copy.deepcopy(customer.body["BillAddr"])  # addresses default from the customer
        body.setdefault("EmailStatus", "NotSet")
        body.setdefault("PrintStatus", "NotSet")
        if self.compute(realm, body)["total"] < 0:
            raise errors.business("Transaction amount must be zero or positive.", "TotalAmt")
        return body

    def _prepare_dates(self, body):
        pass

    def _prepare_currency(self, realm, body, customer):
        code = check_currency(realm, body)
        if code != customer.body["CurrencyRef"]["value"]:
            raise errors.business(f"The currency of the transaction ({code}) must match the customer's "
                                  f"currency ({customer.body['CurrencyRef']['value']}).", "CurrencyRef")
        if code == realm.home_currency:
            body["ExchangeRate"] = Decimal("1")
        else:
            # [U] QBO would look up a rate when none is sent; the sandbox assumes 1.
            body["ExchangeRate"] = to_decimal(body.get("ExchangeRate", 1), "ExchangeRate")
            if body["ExchangeRate"] <= 0:
                raise errors.invalid_number("ExchangeRate", body["ExchangeRate"])

    def _prepare_tax_mode(self, realm, body) -> str | None:
        detail = body.get("TxnTaxDetail")
        if detail is not None and not isinstance(detail, dict):
            raise errors.invalid_property("TxnTaxDetail")
        code = ref_value(detail or {}, "TxnTaxCodeRef", "TxnTaxDetail.TxnTaxCodeRef")
        if realm.is_us:
            body.pop("GlobalTaxCalculation", None)  # not used by US companies
            if code is not None:
                if code in tax.US_PSEUDO_CODES or not tax.code_rates(realm, code):
                    raise errors.invalid_reference("TxnTaxDetail.TxnTaxCodeRef")
                body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": code}}
            else:
                body.pop("TxnTaxDetail", None)
            return None
        body.pop("TxnTaxDetail", None)  # non-US: the lines' codes decide
        calculation = body.get("GlobalTaxCalculation") or tax.DEFAULT_GLOBAL_TAX_CALCULATION
        if calculation not in tax.GLOBAL_TAX_CALCULATIONS:
            raise errors.invalid_property("GlobalTaxCalculation")
        body["GlobalTaxCalculation"] = calculation
        return calculation

    def _prepare_lines(self, realm, lines, calculation) -> list[dict]:
        prepared = []
        for line in lines:
            if not isinstance(line, dict):
                raise errors.invalid_property("Line")
            kind = line.get("DetailType")
            if kind == "SubTotalLineDetail":
                continue  # QBO's own subtotal line, sent back by clients that echo what they read
            number = len(prepared) + 1
            for key in line:
                if key not in LINE_FIELDS:
                    raise errors.invalid_property(f"Line.{key}")
            if kind == "SalesItemLineDetail":
                prepared.append(self._sales_line(realm, line, number, calculation))
            elif kind == "DescriptionOnly":
                out = {"Id": str(number), "LineNum": number, "DetailType": "DescriptionOnly",
                       "DescriptionLineDetail": copy.deepcopy(line.get("DescriptionLineDetail") or {})}
                if line.get("Description") is not None:
                    out["Description"] = line["Description"]
                prepared.append(out)
            elif kind is None:
                raise errors.required("DetailType", f"Line[{number}].DetailType")
            else:
                # GroupLineDetail, DiscountLineDetail...: real QBO lines the sandbox does not emulate.
                raise errors.invalid_property(f"Line[{number}].DetailType",
                                              f"value {kind!r} is not supported by the sandbox")
        return prepared

    def _sales_line(self, realm, line, number, calculation) -> dict:
        element = f"Line[{number}]"
        detail = line.get("SalesItemLineDetail") or {}
        if not isinstance(detail, dict):
            raise errors.invalid_property(f"{element}.SalesItemLineDetail")
        for key in detail:
            if key not in SALES_DETAIL_FIELDS:
                raise errors.invalid_property(f"{element}.SalesItemLineDetail.{key}")
        if line.get("Amount") is None:
            raise errors.required("Amount", f"{element}.Amount")
        amount = to_decimal(line["Amount"], f"{element}.Amount")
        if amount == tax.money(amount):
            amount = tax.money(amount)  # 50 reads back as 50.00
        out_detail = copy.deepcopy(detail)
        item_id = ref_value(detail, "ItemRef", f"{element}.SalesItemLineDetail.ItemRef") or DEFAULT_ITEM_ID
        item = realm.referable("Item", item_id)
        if item is None or not item.body.get("Active", True) or item.body.get("Type") == "Category":
            raise errors.invalid_reference(f"{element}.SalesItemLineDetail.ItemRef")
        out_detail["ItemRef"] = named_ref(item.id, item.body["Name"])
        qty = unit_price = None
        if detail.get("Qty") is not None:
            qty = out_detail["Qty"] = to_decimal(detail["Qty"], f"{element}.SalesItemLineDetail.Qty")
        if detail.get("UnitPrice") is not None:
            unit_price = out_detail["UnitPrice"] = to_decimal(detail["UnitPrice"],
                                                              f"{element}.SalesItemLineDetail.UnitPrice")
        if qty is not None and unit_price is not None and amount != tax.money(qty * unit_price):
            # [U] QBO: 6070 "Amount is not equal to UnitPrice * Qty" (rounded half-up to cents).
            raise errors.validation("6070", BUSINESS_MESSAGE,
                                    f"Business Validation Error: Amount is not equal to UnitPrice * Qty. "
                                    f"Supplied value:{amount} (LineNum {number}: {qty} x {unit_price} = "
                                    f"{tax.money(qty * unit_price)})", f"{element}.Amount")
        code = ref_value(detail, "TaxCodeRef", f"{element}.SalesItemLineDetail.TaxCodeRef")
        if realm.is_us and code is None:
            code = "NON"  # a US line without a code is not taxable
        tax.check_line_code(realm, code, number, calculation)
        if code is not None:
            out_detail["TaxCodeRef"] = {"value": code}
        if calculation == "TaxInclusive":
            out_detail["TaxInclusiveAmt"] = amount
        else:
            out_detail.pop("TaxInclusiveAmt", None)
        out = {"Id": str(number), "LineNum": number, "Amount": amount, "DetailType": "SalesItemLineDetail",
               "SalesItemLineDetail": out_detail}
        if line.get("Description") is not None:
            out["Description"] = line["Description"]
        return out

    def _prepare_doc_number(self, realm, body, record):
        doc = body.get("DocNumber")
        if doc is None:
            body["DocNumber"] = next_doc_number(realm)
            return
        if not isinstance(doc, (str, int)) or isinstance(doc, bool):
            raise errors.invalid_property("DocNumber")
        doc = str(doc)
        if len(doc) > DOC_NUMBER_MAX:
            raise errors.too_long("DocNumber", DOC_NUMBER_MAX, len(doc))
        for other in realm.iter_live(self.name):
            if other is not record and other.body.get("DocNumber") == doc:
                raise errors.duplicate_doc_number(doc)
        body["DocNumber"] = doc

    def compute(self, realm, body):
        """Subtotal, tax, total and TxnTaxDetail from the stored lines."""
        sales = [{"Amount": line["Amount"],
                  "TaxCode": (line["SalesItemLineDetail"].get("TaxCodeRef") or {}).get("value")}
                 for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"]
        code = ((body.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef") or {}).get("value")
        return tax.compute(realm, sales, code, body.get("GlobalTaxCalculation"))

    def after_write(self, realm, record):
        """Remember the highest numeric DocNumber for automatic numbering."""
        doc = str(record.body.get("DocNumber", ""))
        if doc.isdigit():
            realm.counters["DocNumber"] = max(realm.counters.get("DocNumber", 0), int(doc))

    def open_amount(self, realm, record) -> Decimal:
        """Total less what payments applied (0 when voided)."""
        if record.status == "Voided":
            return tax.money(ZERO)
        return tax.money(record.computed["total"] - realm.applied_to(self.name, record.id))

    def extra(self, realm, record):
        """Lines with the subtotal line, TxnTaxDetail, TotalAmt, Balance; zeroed when voided."""
        computed = record.computed
        voided = record.status == "Voided"
        lines = copy.deepcopy(record.body["Line"])
        if voided:
            for line in lines:
                if line["DetailType"] == "SalesItemLineDetail":
                    line["Amount"] = tax.money(ZERO)
                    line["SalesItemLineDetail"]["Qty"] = ZERO
                    line["SalesItemLineDetail"].pop("TaxInclusiveAmt", None)
        lines.append({"Amount": tax.money(ZERO) if voided else computed["subtotal"],
                      "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        total = tax.money(ZERO) if voided else computed["total"]
        detail = tax.zero_detail(computed["detail"]) if voided else copy.deepcopy(computed["detail"])
        detail.update(copy.deepcopy(record.body.get("TxnTaxDetail") or {}))
        customer = realm.get("Customer", record.body["CustomerRef"]["value"], include_deleted=True)
        out = {"Line": lines, "TxnTaxDetail": detail, "TotalAmt": total,
               "CustomerRef": named_ref(record.body["CustomerRef"]["value"],
                                        customer.body["DisplayName"] if customer else None)}
        balance = self.open_amount(realm, record)
        out.update(self.balance_fields(realm, record, balance))
        if record.body["CurrencyRef"]["value"] != realm.home_currency:
            rate = record.body["ExchangeRate"]
            out["HomeTotalAmt"] = tax.money(total * rate)
            out["HomeBalance"] = tax.money(balance * rate)
        return out

    def balance_fields(self, realm, record, balance) -> dict:
        """Invoice: Balance and LinkedTxn; CreditMemo: Balance and RemainingCredit."""
        return {"Balance": balance}



def realm_now(realm) -> float:
    """Sandbox 'now' for default dates."""
    return realm.clock.now()


def next_doc_number(realm) -> str:
    """Next automatic DocNumber: one past the highest numeric one used by invoices and credit memos."""
    return str(max(realm.counters.get("DocNumber", 0), FIRST_DOC_NUMBER - 1) + 1)


class Invoice(SalesDocument):
    """An invoice: CustomerRef and >= 1 line; Balance falls as payments are applied."""

    name, path, voidable = "Invoice", "invoice", True
    fields = SalesDocument.fields | {"DueDate", "ShipDate", "ShipMethodRef", "TrackingNum", "Deposit",
                                     "DepositToAccountRef", "AllowOnlineCreditCardPayment",
                                     "AllowOnlineACHPayment", "AllowIPNPayment", "AllowOnlinePayment"}

    def _prepare_dates(self, body):
        check_date(body, "DueDate")
        # No sales terms are seeded, so the due date defaults to the transaction date.
        body.setdefault("DueDate", body["TxnDate"])

    def balance_fields(self, realm, record, balance):
        """Balance plus the payments linked to this invoice."""
        links = [{"TxnId": p.id, "TxnType": "Payment"} for p in realm.payments_linking("Invoice", record.id)]
        return {"Balance": balance, "LinkedTxn": links}


class CreditMemo(SalesDocument):
    """A credit memo: RemainingCredit falls as payments apply it to invoices."""

    name, path = "CreditMemo", "creditmemo"

    def balance_fields(self, realm, record, balance):
        """RemainingCredit and Balance are the unapplied credit."""
        return {"Balance": balance, "RemainingCredit": balance}


def invoice_status(realm, record) -> str:
    """A sandbox summary for the ledger view: Deleted, Voided, Paid, PartiallyPaid or Open."""
    if record.status in ("Deleted", "Voided"):
        return record.status
    balance = Invoice().open_amount(realm, record)
    if balance <= 0:
        return "Paid"
    return "PartiallyPaid" if balance < record.computed["total"] else "Open"
