"""Decimal fields: money and quantities travel as decimal strings, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields

DECIMAL_PATTERN = r"^-?\d{1,15}(\.\d{1,%d})?$"
TOO_LARGE = Decimal(10) ** 15


def decimal_places(value: Decimal) -> int:
    """How many digits follow the decimal point."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class DecimalString(fields.Field):
    """A decimal as a JSON string ("1234.50"); a JSON number is accepted when parsed exactly."""

    places = 2

    def __init__(self, *, places: int | None = None, minimum: Decimal | None = None,
                 exclusive_minimum: bool = False, maximum: Decimal | None = None, **kwargs):
        self.places = places if places is not None else self.places
        self.minimum, self.exclusive_minimum, self.maximum = minimum, exclusive_minimum, maximum
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault("pattern", DECIMAL_PATTERN % self.places)
        metadata.setdefault("example", "1234.50" if self.places == 2 else "1.5")
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        """Decimal to its string, as exact as it is."""
        return None if value is None else str(value)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        """A string or exact number to Decimal, checking form, places and bounds."""
        return parse_decimal(value, self.places, self.minimum, self.exclusive_minimum, self.maximum)


def parse_decimal(value, places: int, minimum: Decimal | None = None, exclusive_minimum: bool = False,
                  maximum: Decimal | None = None) -> Decimal:
    """The one rule for decimals in requests: exact, finite, at most `places` decimals, within bounds."""
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (str, int, Decimal)):
        raise ValidationError("Must be a decimal string such as \"12.50\".")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise ValidationError("Must be a decimal string such as \"12.50\".") from None
    if not number.is_finite():
        raise ValidationError("NaN and Infinity are not amounts.")
    if decimal_places(number) > places:
        raise ValidationError(f"At most {places} decimal places.")
    if abs(number) >= TOO_LARGE:
        raise ValidationError("Too large.")
    if minimum is not None:
        if exclusive_minimum and number <= minimum:
            raise ValidationError(f"Must be greater than {minimum}.")
        if not exclusive_minimum and number < minimum:
            raise ValidationError(f"Must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ValidationError(f"Must be at most {maximum}.")
    return number


class Money(DecimalString):
    """An amount with at most 2 decimals."""

    places = 2


class Quantity(DecimalString):
    """A quantity or unit price with at most 4 decimals."""

    places = 4
