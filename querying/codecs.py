"""Field values to BSON and back, losslessly, on MongoDB and on FerretDB alike.

| Django field        | stored as                                                    |
|---------------------|--------------------------------------------------------------|
| DecimalField        | double when ``max_digits <= 15`` (exact at that precision);  |
|                     | Decimal128 above (real MongoDB only: FerretDB v1 lacks it)   |
| DateField           | datetime at midnight UTC                                     |
| DateTimeField       | datetime in UTC (BSON keeps milliseconds); the microseconds  |
|                     | below that go into ``_us.<attname>`` beside it when non-zero |
| TimeField           | ``"HH:MM:SS.ffffff"`` (fixed width, so it sorts)             |
| DurationField       | integer microseconds                                         |
| UUIDField           | standard binary UUID (subtype 4)                             |
| File/ImageField     | the stored name                                              |
| JSONField           | as is; keys starting with ``$`` or containing ``.`` rejected |
| FloatField          | double; NaN and ±Infinity rejected (FerretDB refuses them)   |
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Callable
from functools import partial
from typing import Any

from bson.decimal128 import Decimal128
from django.conf import settings
from django.db import models
from django.db.models import Field
from django.utils import timezone

# A decimal with at most this many significant digits survives a trip through a double.
EXACT_DOUBLE_DIGITS = 15


class CodecError(ValueError):
    """A value that cannot be stored without losing meaning; says which field and why."""


def _field_label(field: Field) -> str:
    model = getattr(field, "model", None)
    return f"{model._meta.label}.{field.name}" if model is not None else field.name


def to_bson(field: Field, value: Any) -> Any:
    """Convert a Python value of *field* to what is stored in the document."""
    if value is None:
        return None
    encode = _ENCODERS.get(field.get_internal_type())
    return encode(field, value) if encode else field.get_prep_value(value)


# Built-in fields (these exact classes: a subclass may prepare values its own way) whose
# values, as the database returns them, are stored unchanged.
_STORED_AS_READ = frozenset({
    models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField, models.BigIntegerField,
    models.SmallIntegerField, models.PositiveIntegerField, models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField, models.BooleanField, models.CharField, models.TextField,
    models.EmailField, models.SlugField, models.URLField,
})


def read_value_encoder(field: Field) -> Callable[[Any], Any]:
    """:func:`to_bson` of *field* resolved once, for non-None values the database returned (``values()`` rows).

    Rendering calls it for every value of every row; skipping ``get_prep_value``
    where it changes nothing is most of what makes that cheap.
    """
    encode = _ENCODERS.get(field.get_internal_type())
    if encode:
        return partial(encode, field)
    if type(field) in _STORED_AS_READ:
        return _stored_as_is
    if type(field) in (models.ForeignKey, models.OneToOneField) and type(field.target_field) in _STORED_AS_READ:
        return _stored_as_is
    return field.get_prep_value


def _stored_as_is(value: Any) -> Any:
    return value


def from_bson(field: Field, value: Any) -> Any:
    """Convert a stored value back into what the ORM would return for *field*."""
    if value is None:
        return None
    decode = _DECODERS.get(field.get_internal_type())
    return decode(field, value) if decode else value


# --- encoders ------------------------------------------------------------------


def _decimal_to_bson(field: Field, value: Any) -> Any:
    value = decimal.Decimal(value)
    if not value.is_finite():
        raise CodecError(f"{_field_label(field)}: {value} is not a finite decimal.")
    if (field.max_digits or 0) <= EXACT_DOUBLE_DIGITS and field.max_digits is not None:
        return float(value)
    return Decimal128(value)


def _float_to_bson(field: Field, value: Any) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise CodecError(
            f"{_field_label(field)}: {value} cannot be mirrored (MongoDB-protocol servers such as "
            "FerretDB refuse NaN and Infinity)."
        )
    return value


def _date_to_bson(field: Field, value: datetime.date) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        value = value.date()
    return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)


def datetime_to_bson(field: Field, value: datetime.datetime) -> datetime.datetime:
    """Aware datetimes are stored in UTC; naive ones (``USE_TZ=False``) as they are.

    BSON dates hold milliseconds; :func:`submillisecond` keeps the rest.
    """
    if timezone.is_aware(value):
        value = value.astimezone(datetime.timezone.utc)
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


SUBMILLISECOND_KEY = "_us"


def submillisecond(field: Field, value: Any) -> int | None:
    """The microseconds a BSON date cannot hold, stored beside it under ``_us``; None when zero."""
    if value is None or field.get_internal_type() != "DateTimeField":
        return None
    return value.microsecond % 1000 or None


def _time_to_bson(field: Field, value: datetime.time) -> str:
    return value.strftime("%H:%M:%S.%f")


def _duration_to_bson(field: Field, value: datetime.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _file_to_bson(field: Field, value: Any) -> str:
    return str(getattr(value, "name", value) or "")


def _json_to_bson(field: Field, value: Any) -> Any:
    _check_json_keys(field, value, "")
    return value


def _check_json_keys(field: Field, value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                raise CodecError(
                    f"{_field_label(field)}: JSON key {key!r} at {where or 'top level'} cannot be stored "
                    "in MongoDB (keys may not start with '$' or contain '.')."
                )
            _check_json_keys(field, item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_keys(field, item, f"{where}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise CodecError(f"{_field_label(field)}: {value} at {where or 'top level'} cannot be mirrored.")


def _identity(field: Field, value: Any) -> Any:
    return value


_ENCODERS = {
    "DecimalField": _decimal_to_bson,
    "FloatField": _float_to_bson,
    "DateField": _date_to_bson,
    "DateTimeField": datetime_to_bson,
    "TimeField": _time_to_bson,
    "DurationField": _duration_to_bson,
    "FileField": _file_to_bson,
    "ImageField": _file_to_bson,
    "FilePathField": _file_to_bson,
    "JSONField": _json_to_bson,
    "UUIDField": _identity,
    "BinaryField": lambda field, value: bytes(value),
}


# --- decoders ------------------------------------------------------------------


def _decimal_from_bson(field: Field, value: Any) -> decimal.Decimal:
    number = value.to_decimal() if isinstance(value, Decimal128) else decimal.Decimal(repr(value))
    if field.decimal_places is not None:
        number = number.quantize(decimal.Decimal(1).scaleb(-field.decimal_places))
    return number


def _date_from_bson(field: Field, value: datetime.datetime) -> datetime.date:
    return value.date()


def datetime_from_bson(field: Field, value: datetime.datetime, micros: int | None = None) -> datetime.datetime:
    """The ORM's datetime from the stored date and its ``_us`` companion."""
    if micros:
        value = value + datetime.timedelta(microseconds=micros)
    if settings.USE_TZ:
        return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.timezone.utc)
    return value.replace(tzinfo=None) if timezone.is_aware(value) else value


def _time_from_bson(field: Field, value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def _duration_from_bson(field: Field, value: int) -> datetime.timedelta:
    return datetime.timedelta(microseconds=value)


_DECODERS = {
    "DecimalField": _decimal_from_bson,
    "DateField": _date_from_bson,
    "DateTimeField": datetime_from_bson,
    "TimeField": _time_from_bson,
    "DurationField": _duration_from_bson,
}
