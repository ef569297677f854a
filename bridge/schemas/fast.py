"""A fast loader compiled from the marshmallow schemas, for the ingest route's common case.

It applies the same fields, validators and hooks as `Schema.load` to well-formed input and gives the
same result, without marshmallow's per-field machinery. Anything unusual (an unknown key, a value of
another type, any validation error) raises `Fallback`, and the caller loads with marshmallow, which
then produces its usual error messages. tests/test_fast_loader.py checks the two agree.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields
from marshmallow.utils import missing

from bridge.schemas.money import DecimalString, parse_decimal

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class Fallback(Exception):
    """The fast loader cannot vouch for this input: load it with marshmallow."""


def _checked(field: fields.Field, convert):
    """`convert` followed by the field's own validators; None where the field allows it."""
    validators = field.validators

    def load(value):
        if value is None:
            if field.allow_none:
                return None
            raise Fallback
        result = convert(value)
        if validators:
            try:
                for validator in validators:
                    validator(result)
            except ValidationError:
                raise Fallback from None
        return result

    return load


def _decimal(field: DecimalString):
    """A decimal string, by the same rule as the field."""
    def convert(value):
        try:
            return parse_decimal(value, field.places, field.minimum, field.exclusive_minimum, field.maximum)
        except ValidationError:
            raise Fallback from None
    return convert


def _string(value):
    """A str, as is."""
    if type(value) is not str:
        raise Fallback
    return value


def _date(value):
    """An ISO date YYYY-MM-DD."""
    if type(value) is not str or not ISO_DATE.match(value):
        raise Fallback
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Fallback from None


def _boolean(value):
    """A JSON boolean (anything else marshmallow decides)."""
    if type(value) is not bool:
        raise Fallback
    return value


def _refuse(value):
    """A field type the fast loader does not handle."""
    raise Fallback


def compile_field(field: fields.Field):
    """A fast loader for one field."""
    if isinstance(field, DecimalString):
        return _checked(field, _decimal(field))
    if isinstance(field, fields.Nested):
        return _checked(field, compile_schema(field.schema))
    if isinstance(field, fields.List):
        inner = compile_field(field.inner)

        def convert(value):
            if type(value) is not list:
                raise Fallback
            return [inner(item) for item in value]
        return _checked(field, convert)
    if isinstance(field, fields.Date):
        return _checked(field, _date)
    if isinstance(field, fields.Boolean):
        return _checked(field, _boolean)
    if type(field) in (fields.String, fields.Email):
        return _checked(field, _string)
    return _refuse


def compile_schema(schema: Schema):
    """A fast loader for a whole schema, its field hooks and schema hooks included."""
    loaders = {name: compile_field(field) for name, field in schema.fields.items()}
    required = [name for name, field in schema.fields.items() if field.required]
    defaults = [(name, field.load_default) for name, field in schema.fields.items()
                if field.load_default is not missing]
    field_hooks = [(getattr(schema, attr), kwargs["field_names"]) for attr, _, kwargs in schema._hooks["validates"]]
    schema_hooks = [getattr(schema, attr) for attr, _, _ in schema._hooks["validates_schema"]]

    def load(data):
        if type(data) is not dict:
            raise Fallback
        result = {}
        for key, value in data.items():
            loader = loaders.get(key)
            if loader is None:
                raise Fallback
            result[key] = loader(value)
        for name in required:
            if name not in result:
                raise Fallback
        for name, default in defaults:
            if name not in result:
                result[name] = default() if callable(default) else default
        try:
            for hook, names in field_hooks:
                for name in names:
                    if name in result:
                        hook(result[name], data_key=name)
            for hook in schema_hooks:
                hook(result, partial=None, many=False)
        except ValidationError:
            raise Fallback from None
        return result

    return load
