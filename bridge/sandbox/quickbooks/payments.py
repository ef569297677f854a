"""Payments: amounts applied to invoices (and credit memos), unapplied remainder, void."""

from __future__ import annotations

import copy
from decimal import Decimal

from . import errors, tax
from .common import EntityKind, check_currency, check_date, check_string, named_ref, ref_value, to_decimal
from .names import DEPOSIT_ACCOUNT_TYPES

DEFAULT_DEPOSIT_ACCOUNT = "4"  # Undeposited Funds, QBO's default deposit target
LINKABLE = ("Invoice", "CreditMemo")
ZERO = Decimal("0")


class Payment(EntityKind):
    """A customer payment; `Line[].LinkedTxn` applies it, the rest is `UnappliedAmt` (facts §1.7)."""

    name, path, writable, deletable, voidable = "Payment", "payment", True, True, True
    fields = frozenset({"CustomerRef", "TotalAmt", "Line", "TxnDate", "CurrencyRef", "ExchangeRate",
                        "DepositToAccountRef", "PaymentRefNum", "PaymentMethodRef", "PrivateNote",
                        "ARAccountRef", "ProcessPayment", "CreditCardPayment", "TxnSource",
                        "TransactionLocationType", "DepartmentRef", "ProjectRef"})
    read_only = frozenset({"UnappliedAmt", "LinkedTxn", "TxnStatus"})

    def prepare(self, realm, body, record):
        """Check customer, amounts against open balances and the deposit account."""
        customer_id = ref_value(body, "CustomerRef")
        if customer_id is None:
            raise errors.required("CustomerRef")
        customer = realm.referable("Customer", customer_id)
        if customer is None:
            raise errors.invalid_reference("CustomerRef")
        body["CustomerRef"] = {"value": customer.id}
        if body.get("TotalAmt") is None:
            raise errors.required("TotalAmt")
        body["TotalAmt"] = to_decimal(body["TotalAmt"], "TotalAmt")
        if body["TotalAmt"] < 0:
            raise errors.business("The payment amount cannot be negative.", "TotalAmt")
        check_date(body, "TxnDate")
        if body.get("TxnDate") is None and record is not None:
            body["TxnDate"] = record.body.get("TxnDate")
        body.setdefault("TxnDate", realm.today(realm.clock.now()))
        check_string(body, "PaymentRefNum", 21)
        check_string(body, "PrivateNote", 4000)
        code = check_currency(realm, body)
        if code != customer.body["CurrencyRef"]["value"]:
            raise errors.business(f"The currency of the payment ({code}) must match the customer's currency.",
                                  "CurrencyRef")
        body["ExchangeRate"] = (Decimal("1") if code == realm.home_currency
                                else to_decimal(body.get("ExchangeRate", 1), "ExchangeRate"))
        account_id = ref_value(body, "DepositToAccountRef") or DEFAULT_DEPOSIT_ACCOUNT
        account = realm.referable("Account", account_id)
        if account is None or account.body.get("AccountType") not in DEPOSIT_ACCOUNT_TYPES:
            raise errors.invalid_reference("DepositToAccountRef")
        body["DepositToAccountRef"] = named_ref(account.id, account.body["Name"])
        body["Line"] = self._prepare_lines(realm, body.get("Line") or [], customer.id, record)
        body.setdefault("ProcessPayment", False)
        if self.compute(realm, body)["unapplied"] < 0:
            raise errors.business("The amounts applied to transactions exceed the payment amount "
                                  f"({body['TotalAmt']}).", "TotalAmt")
        return body

    def _prepare_lines(self, realm, lines, customer_id, record) -> list[dict]:
        if not isinstance(lines, list):
            raise errors.invalid_property("Line")
        prepared = []
        wanted: dict[tuple[str, str], Decimal] = {}
        for number, line in enumerate(lines, start=1):
            element = f"Line[{number}]"
            if not isinstance(line, dict):
                raise errors.invalid_property("Line")
            links = line.get("LinkedTxn")
            if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
                raise errors.required("LinkedTxn", f"{element}.LinkedTxn")
            link = links[0]
            txn_type, txn_id = link.get("TxnType"), str(link.get("TxnId", ""))
            if txn_type not in LINKABLE:
                raise errors.invalid_property(f"{element}.LinkedTxn.TxnType")
            target = realm.referable(txn_type, txn_id)
            if target is None:
                raise errors.invalid_reference(f"{element}.LinkedTxn.TxnId")
            if target.body["CustomerRef"]["value"] != customer_id:
                # Intuit 620: two transactions can be linked only if they belong to the same customer.
                raise errors.validation("620", "TxnID Cannot Be Linked",
                                        "TxnID Cannot Be Linked : Cannot validate linked transactions: the "
                                        f"{txn_type} {txn_id} belongs to another customer.",
                                        f"{element}.LinkedTxn.TxnId")
            if target.status == "Voided":
                raise errors.business(f"{txn_type} {txn_id} is voided and cannot take a payment.",
                                      f"{element}.LinkedTxn.TxnId")
            if line.get("Amount") is None:
                raise errors.required("Amount", f"{element}.Amount")
            amount = to_decimal(line["Amount"], f"{element}.Amount")
            if amount <= 0:
                raise errors.business("An applied amount must be greater than zero.", f"{element}.Amount")
            key = (txn_type, target.id)
            wanted[key] = wanted.get(key, ZERO) + amount
            open_amount = target.computed["total"] - realm.applied_to(
                txn_type, target.id, excluding=record.id if record is not None else None)
            if wanted[key] > open_amount:
                # [U] QBO refuses to apply more than a transaction's open balance.
                raise errors.business(f"The amount applied to {txn_type} {target.id} ({wanted[key]}) exceeds "
                                      f"its open balance ({tax.money(open_amount)}).", f"{element}.Amount")
            prepared.append({"Amount": amount, "LinkedTxn": [{"TxnId": target.id, "TxnType": txn_type}]})
        return prepared

    def compute(self, realm, body):
        """UnappliedAmt = TotalAmt - (applied to invoices - credits used)."""
        applied = ZERO
        for line in body["Line"]:
            sign = -1 if line["LinkedTxn"][0]["TxnType"] == "CreditMemo" else 1
            applied += sign * line["Amount"]
        return {"unapplied": body["TotalAmt"] - applied}

    def extra(self, realm, record):
        """UnappliedAmt and the customer's name; a voided payment reads back with zero amounts."""
        customer = realm.get("Customer", record.body["CustomerRef"]["value"], include_deleted=True)
        out = {"CustomerRef": named_ref(record.body["CustomerRef"]["value"],
                                        customer.body["DisplayName"] if customer else None),
               "UnappliedAmt": record.computed["unapplied"]}
        if record.status == "Voided":
            out["TotalAmt"] = ZERO
            out["UnappliedAmt"] = ZERO
            lines = copy.deepcopy(record.body["Line"])
            for line in lines:
                line["Amount"] = ZERO
            out["Line"] = lines
        return out

    def after_write(self, realm, record):
        """Invoice balances and credit memo remainders follow the payments."""
        realm.index_payment(record)
