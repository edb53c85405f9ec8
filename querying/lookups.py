"""Django lookups as MongoDB conditions: one small class per lookup; values are only ever data.

A condition tests one stored field at a key *relative* to the innermost embedded
array the field sits in (``querying.where`` places it inside that array). Values
go through the field exactly as the ORM prepares them (``get_prep_value``; a model
instance for a relation becomes its key), then through the codecs, so a value is
compared with and never read as an operator: ``{"$ne": ""}`` for a CharField is the
string ``"{'$ne': ''}"``, as in SQL, and is refused by numeric fields.

A :class:`Condition` also says what it makes of a related row that is not there
(``on_null``): SQL evaluates a LEFT JOIN's missing row as all NULLs, so only
``isnull=True`` holds on it.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field
from django.utils import timezone
from django.utils.functional import Promise

from .codecs import SUBMILLISECOND_KEY, submillisecond, to_bson
from .exceptions import QueryingError, UnsupportedLookup

Filter = dict[str, Any] | bool
"""A MongoDB filter document, or a constant: ``True`` matches every document, ``False`` none."""

NOTHING: dict[str, Any] = {"_id": {"$in": []}}
"""A filter document no document matches (``False`` where a document is required)."""

# Stored as strings the way PostgreSQL compares them as text: pattern lookups apply.
TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField",
                        "FileField", "ImageField", "FilePathField"})
# Stored so that MongoDB's order differs from PostgreSQL's (BinData compares length first;
# inet is not text order; JSON has no SQL order): no gt/gte/lt/lte/range on them.
UNORDERED_TYPES = frozenset({"BinaryField", "GenericIPAddressField", "JSONField"})


class FilterValueError(QueryingError, TypeError, ValueError):
    """A value the field cannot take (the ORM refuses it too); names the model, field and path."""


# --- filter documents ------------------------------------------------------------


def and_(*filters: Filter) -> Filter:
    """All of *filters*; disjoint keys share one document, otherwise ``$and``."""
    parts: list[dict[str, Any]] = []
    for part in filters:
        if part is False:
            return False
        if part is not True:
            parts.extend(part["$and"] if list(part) == ["$and"] else [part])
    if not parts:
        return True
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for part in parts:
        if merged.keys() & part.keys():
            return {"$and": parts}
        merged.update(part)
    return merged


def or_(*filters: Filter) -> Filter:
    """Any of *filters* (nested ``$or`` flattened)."""
    parts: list[dict[str, Any]] = []
    for part in filters:
        if part is True:
            return True
        if part is not False:
            parts.extend(part["$or"] if list(part) == ["$or"] else [part])
    if not parts:
        return False
    return parts[0] if len(parts) == 1 else {"$or": parts}


def not_(condition: Filter) -> Filter:
    """Documents *condition* does not match (``$nor``; a missing value is never a match)."""
    if isinstance(condition, bool):
        return not condition
    return {"$nor": condition["$or"] if list(condition) == ["$or"] else [condition]}


def document(condition: Filter) -> dict[str, Any]:
    """*condition* as a filter document ``find()`` accepts."""
    if condition is True:
        return {}
    return NOTHING if condition is False else condition


# --- where a condition applies ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The stored field a condition tests and where it sits.

    ``key`` is relative to the innermost embedded array crossed (or to the document);
    ``related_model`` is set when the path ends at a relation, whose instances are
    compared by ``instance_attr``; ``element_pk`` marks the ``_id`` of an array
    element, which is never NULL.
    """

    model_label: str
    path: str
    field: Field
    key: str
    related_model: type[models.Model] | None = None
    instance_attr: str = "pk"
    element_pk: bool = False

    @property
    def micros_key(self) -> str:
        """The ``_us`` companion beside ``key`` holding a DateTimeField's sub-millisecond digits."""
        head, _, leaf = self.key.rpartition(".")
        return f"{head}.{SUBMILLISECOND_KEY}.{leaf}" if head else f"{SUBMILLISECOND_KEY}.{leaf}"

    @property
    def stored_type(self) -> str:
        """The internal type of what is stored (a foreign key stores its target's value)."""
        field = self.field
        while field.is_relation and getattr(field, "target_field", None) is not None:
            field = field.target_field
        return field.get_internal_type()

    @property
    def exact_micros(self) -> bool:
        return self.field.get_internal_type() == "DateTimeField"

    def unsupported(self, lookup: str, reason: str) -> UnsupportedLookup:
        return UnsupportedLookup(self.model_label, self.path, lookup, reason)

    def bad_value(self, lookup: str, problem: str) -> FilterValueError:
        return FilterValueError(
            f"{self.model_label}.objects.mongo(): {self.path}__{lookup}: "
            f"invalid value for {_field_label(self.field)}: {problem}")


def _field_label(field: Field) -> str:
    model = getattr(field, "model", None)
    return f"{model._meta.label}.{field.name}" if model is not None else str(field.name)


@dataclass(frozen=True)
class Condition:
    """A MongoDB condition relative to its target's array, and its truth on a missing related row."""

    filter: Filter
    on_null: bool = False


@dataclass(frozen=True)
class Operand:
    """A value as the document stores it: ``value`` under the key, ``micros`` under ``_us``."""

    value: Any
    micros: int = 0


# --- values ----------------------------------------------------------------------------


def reject_expression(target: Target, lookup: str, value: Any) -> None:
    """F(), Subquery, querysets and other expressions need the database: refuse them."""
    if hasattr(value, "resolve_expression"):  # never repr() it: a queryset's repr runs its query
        raise target.unsupported(lookup, f"the value is a {type(value).__name__}, an expression or queryset; "
                                         "only plain Python values can be compared with the stored documents")


_PLAIN = (str, bytes, int, float, decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, uuid.UUID)


def shown(value: Any) -> str:
    """*value* for an error message: plain values by repr (shortened), others by type only,
    since the repr of a model or queryset may query the database."""
    if value is not None and not isinstance(value, _PLAIN):
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__


def prepare(target: Target, lookup: str, value: Any, field: Field | None = None) -> Any:
    """*value* as the ORM hands it to the database for *field* (default: the target's field)."""
    reject_expression(target, lookup, value)
    if field is None:
        field = target.field
    if target.related_model is not None and field is target.field and isinstance(value, models.Model):
        value = _instance_key(target, lookup, value)
    try:
        return field.get_prep_value(value)
    except (TypeError, ValueError, ValidationError, ArithmeticError) as exc:
        raise target.bad_value(lookup, _problem(exc)) from exc


def _instance_key(target: Target, lookup: str, instance: models.Model) -> Any:
    related = target.related_model
    assert related is not None
    # Described by label and pk: an instance's __str__ may query the database.
    label = f"a {instance._meta.label} instance (pk={instance.pk!r})"
    if not isinstance(instance, related) and not issubclass(related, type(instance)._meta.concrete_model):
        raise target.bad_value(lookup, f"{label} is not a {related._meta.label} instance")
    key = getattr(instance, target.instance_attr)
    if key is None:
        raise target.bad_value(lookup, f"{label} is unsaved (it has no {target.instance_attr})")
    return key


def stored(target: Target, lookup: str, prepared: Any) -> Operand:
    """A prepared Python value encoded as the codecs store it."""
    try:
        value = to_bson(target.field, prepared)
    # AttributeError: a codec given the wrong kind of value (an int for a DurationField).
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise target.bad_value(lookup, _problem(exc)) from exc
    if isinstance(value, int) and not -(2**63) <= value < 2**63 and _integer_range(target) is None:
        # Integer fields decide such values by their column's range (see Comparison); BSON has no bigger int.
        raise target.bad_value(lookup, f"{value} does not fit a 64-bit integer")
    return Operand(value, submillisecond(target.field, prepared) or 0)


def encode(target: Target, lookup: str, value: Any) -> Operand:
    return stored(target, lookup, prepare(target, lookup, value))


def _integer_range(target: Target) -> tuple[int, int] | None:
    """The column's range for the ORM's integer lookups (values outside match nothing or all)."""
    if not isinstance(target.field, models.IntegerField):
        return None
    return BaseDatabaseOperations.integer_field_ranges.get(target.field.get_internal_type())


def _outside(target: Target, value: Any) -> int:
    """-1 below the integer field's range, 1 above it, 0 inside (or not an integer field)."""
    bounds = _integer_range(target)
    if bounds is None or not isinstance(value, int):
        return 0
    return -1 if value < bounds[0] else 1 if value > bounds[1] else 0


# --- comparisons, exact to the microsecond ---------------------------------------------


def compare(target: Target, op: str, operand: Operand) -> dict[str, Any]:
    """``key <op> value``; for a DateTimeField the ``_us`` companion decides within a millisecond."""
    if not target.exact_micros:
        return {target.key: {op: operand.value}}
    if target.field.primary_key:
        raise target.unsupported(op.lstrip("$"), "a DateTimeField primary key is stored without its "
                                                 "sub-millisecond digits, so it cannot be compared exactly")
    key, us, ms, micros = target.key, target.micros_key, operand.value, operand.micros
    same_ms = {key: {"$eq": ms}}
    if op == "$eq":
        return {**same_ms, us: {"$eq": micros} if micros else {"$in": [None, 0]}}
    # A missing _us means 0, which "$gt"/"$lt" would not match: the upper side uses $not.
    below = {"$gt": {"$gt": micros}, "$gte": {"$gte": micros},
             "$lt": {"$not": {"$gte": micros}}, "$lte": {"$not": {"$gt": micros}}}[op]
    if (op in ("$gt", "$lte") and micros == 999) or (op in ("$gte", "$lt") and micros == 0):
        return {key: {op: ms}}
    strict = "$gt" if op in ("$gt", "$gte") else "$lt"
    return {"$or": [{key: {strict: ms}}, {**same_ms, us: below}]}


def between(target: Target, low: Operand, high: Operand, *, high_inclusive: bool = True) -> Filter:
    """``low <= key <= high`` (or ``< high``), as one document when each bound is one operator."""
    lower = compare(target, "$gte", low)
    upper = compare(target, "$lte" if high_inclusive else "$lt", high)
    key = target.key
    if list(lower) == [key] == list(upper):
        return {key: {**lower[key], **upper[key]}}
    return and_(lower, upper)


def not_null(target: Target) -> Filter:
    return {target.key: {"$ne": None}}


def _regex(target: Target, pattern: str, options: str) -> Filter:
    return {target.key: {"$regex": pattern, "$options": options} if options else {"$regex": pattern}}


# --- lookups ---------------------------------------------------------------------------


class Lookup:
    """One ORM lookup: ``prepare`` turns the value into data, ``build`` the MongoDB condition."""

    lookup_name: ClassVar[str]

    def condition(self, target: Target, value: Any) -> Condition:
        reject_expression(target, self.lookup_name, value)
        if value is None and self.lookup_name in ("exact", "iexact"):  # the ORM makes these IS NULL
            Lookup.check(self, target)  # on a JSONField, None means JSON null to the ORM
            return IsNull().condition(target, True)
        self.check(target)
        if value is None:
            raise target.bad_value(self.lookup_name, "None cannot be compared (use isnull=True)")
        return self.build(target, self.prepare(target, value))

    def check(self, target: Target) -> None:
        if target.stored_type == "JSONField":
            raise target.unsupported(self.lookup_name, "JSONField supports only isnull here (key and "
                                     "containment lookups, and None meaning JSON null, are not translated)")

    def prepare(self, target: Target, value: Any) -> Any:
        return encode(target, self.lookup_name, value)

    def build(self, target: Target, prepared: Any) -> Condition:
        raise NotImplementedError


def require_order(target: Target, lookup: str) -> None:
    if target.stored_type in UNORDERED_TYPES:
        raise target.unsupported(lookup, f"{target.stored_type} values are not ordered the same way in "
                                         "MongoDB as in PostgreSQL")


class Comparison(Lookup):
    """``=``, ``>``, ``>=``, ``<``, ``<=``; integer values outside the column match all or nothing."""

    op: ClassVar[str]
    below: ClassVar[bool] = False  # the ORM's result for a value under the integer column's minimum
    above: ClassVar[bool] = False
    ceil_floats: ClassVar[bool] = False  # IntegerFieldFloatRounding: 2.5 means 3 for >= and <

    def check(self, target: Target) -> None:
        super().check(target)
        if self.op != "$eq":
            require_order(target, self.lookup_name)

    def prepare(self, target: Target, value: Any) -> Any:
        if self.ceil_floats and isinstance(value, float) and isinstance(target.field, models.IntegerField):
            value = math.ceil(value)
        return encode(target, self.lookup_name, value)

    def build(self, target: Target, prepared: Operand) -> Condition:
        side = _outside(target, prepared.value)
        if side:
            return Condition(self.below if side < 0 else self.above)
        return Condition(compare(target, self.op, prepared))


class Exact(Comparison):
    lookup_name, op = "exact", "$eq"


class GreaterThan(Comparison):
    lookup_name, op, below = "gt", "$gt", True


class GreaterThanOrEqual(Comparison):
    lookup_name, op, below, ceil_floats = "gte", "$gte", True, True


class LessThan(Comparison):
    lookup_name, op, above, ceil_floats = "lt", "$lt", True, True


class LessThanOrEqual(Comparison):
    lookup_name, op, above = "lte", "$lte", True


class In(Lookup):
    """``IN (...)``: None is dropped (NULL never equals), an empty list matches nothing."""

    lookup_name = "in"

    def prepare(self, target: Target, value: Any) -> list[Operand]:
        if not hasattr(value, "__iter__"):  # a string is iterated, as the ORM does
            raise target.bad_value("in", f"expected a list of values, got {shown(value)}")
        operands = [encode(target, "in", item) for item in value if item is not None]
        return [operand for operand in operands if not _outside(target, operand.value)]

    def build(self, target: Target, prepared: list[Operand]) -> Condition:
        if not prepared:
            return Condition(False)
        if not target.exact_micros:
            return Condition({target.key: {"$in": [operand.value for operand in prepared]}})
        whole = [operand for operand in prepared if not operand.micros]
        exact = or_(*(compare(target, "$eq", operand) for operand in prepared if operand.micros))
        if not whole:
            return Condition(exact)
        return Condition(or_({target.key: {"$in": [o.value for o in whole]},
                              target.micros_key: {"$in": [None, 0]}}, exact))


class Range(Lookup):
    """``BETWEEN low AND high``, both ends included."""

    lookup_name = "range"

    def check(self, target: Target) -> None:
        super().check(target)
        require_order(target, self.lookup_name)

    def prepare(self, target: Target, value: Any) -> tuple[Operand, Operand]:
        bounds = two_values(target, "range", value)
        low, high = (encode(target, "range", bound) for bound in bounds)
        integer = _integer_range(target)
        if integer is not None:  # a bound past the column excludes nothing stored (and fits BSON)
            low, high = Operand(max(low.value, integer[0])), Operand(min(high.value, integer[1]))
        return low, high

    def build(self, target: Target, prepared: tuple[Operand, Operand]) -> Condition:
        return Condition(between(target, *prepared))


def two_values(target: Target, lookup: str, value: Any) -> tuple[Any, Any]:
    """The two ends of a ``range`` value; None is refused (``BETWEEN NULL`` is never true)."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise target.bad_value(lookup, f"expected a (low, high) pair, got {shown(value)}")
    bounds = list(value)
    if len(bounds) != 2:
        raise target.bad_value(lookup, f"expected a (low, high) pair, got {len(bounds)} values")
    for bound in bounds:
        reject_expression(target, lookup, bound)
        if bound is None:
            raise target.bad_value(lookup, "None cannot be a range bound")
    return bounds[0], bounds[1]


class IsNull(Lookup):
    """``IS NULL``: null or missing (a NULL relation has no keys below it); an array element's
    ``_id`` is never NULL, so on an element it is a constant and only a missing row is NULL."""

    lookup_name = "isnull"

    def condition(self, target: Target, value: Any) -> Condition:
        if not isinstance(value, bool):  # applies to every field, JSONField included
            raise target.bad_value("isnull", f"must be True or False, got {shown(value)}")
        return self.build(target, value)

    def build(self, target: Target, prepared: bool) -> Condition:
        if target.element_pk:
            return Condition(not prepared, on_null=prepared)
        return Condition({target.key: {"$eq": None}} if prepared else not_null(target), on_null=prepared)


class Text(Lookup):
    """A text lookup: the value is data for a regular expression, so it is escaped and anchored.

    ``\\A``/``\\z`` anchor at the very start and end in both PCRE (MongoDB) and RE2
    (FerretDB); ``$`` would also match before a final newline in PCRE.
    """

    start: ClassVar[bool] = False
    end: ClassVar[bool] = False
    options: ClassVar[str] = ""

    def check(self, target: Target) -> None:
        super().check(target)
        if target.stored_type not in TEXT_TYPES or target.field.is_relation:
            stored_as = f"{_field_label(target.field)} is stored as {target.stored_type}"
            raise target.unsupported(self.lookup_name, f"it applies to text fields; {stored_as}")

    def prepare(self, target: Target, value: Any) -> str:
        return str(value)  # as the ORM's LIKE/iexact preparation does

    def build(self, target: Target, prepared: str) -> Condition:
        pattern = ("\\A" if self.start else "") + re.escape(prepared) + ("\\z" if self.end else "")
        return Condition(_regex(target, pattern, self.options))


class IExact(Text):
    lookup_name, start, end, options = "iexact", True, True, "i"


class Contains(Text):
    lookup_name = "contains"


class IContains(Text):
    lookup_name, options = "icontains", "i"


class StartsWith(Text):
    lookup_name, start = "startswith", True


class IStartsWith(Text):
    lookup_name, start, options = "istartswith", True, "i"


class EndsWith(Text):
    lookup_name, end = "endswith", True


class IEndsWith(Text):
    lookup_name, end, options = "iendswith", True, "i"


class Regex(Text):
    """PostgreSQL's ``~``: the user's pattern, unescaped; ``s`` because ``.`` matches a newline there."""

    lookup_name, options = "regex", "s"

    def prepare(self, target: Target, value: Any) -> str:
        if isinstance(value, (str, Promise)):
            return str(value)
        raise target.bad_value(self.lookup_name, f"a regular expression must be a string, got {shown(value)}")

    def build(self, target: Target, prepared: str) -> Condition:
        return Condition(_regex(target, prepared, self.options))


class IRegex(Regex):
    lookup_name, options = "iregex", "is"


LOOKUPS: dict[str, Lookup] = {lookup.lookup_name: lookup for lookup in (
    Exact(), IExact(), Contains(), IContains(), StartsWith(), IStartsWith(), EndsWith(), IEndsWith(),
    In(), GreaterThan(), GreaterThanOrEqual(), LessThan(), LessThanOrEqual(), Range(), IsNull(),
    Regex(), IRegex(),
)}


# --- transforms on dates ------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The stored values one transformed value stands for: ``[low, high]`` or ``[low, high)``.

    ``high`` None means unbounded (the day after ``date.max`` does not exist).
    """

    low: Operand
    high: Operand | None
    high_inclusive: bool


def _within(target: Target, span: Span) -> Filter:
    if span.high is None:
        return compare(target, "$gte", span.low)
    return between(target, span.low, span.high, high_inclusive=span.high_inclusive)


def _after(target: Target, span: Span) -> Filter:
    if span.high is None:
        return False
    return compare(target, "$gt" if span.high_inclusive else "$gte", span.high)


def _through(target: Target, span: Span) -> Filter:
    if span.high is None:
        return not_null(target)
    return compare(target, "$lte" if span.high_inclusive else "$lt", span.high)


_SPAN_LOOKUPS = {
    "exact": _within,
    "gt": _after,
    "gte": lambda target, span: compare(target, "$gte", span.low),
    "lt": lambda target, span: compare(target, "$lt", span.low),
    "lte": _through,
}


# The output fields of the ORM's ExtractYear and TruncDate: values are prepared through them.
_YEAR = models.IntegerField(name="year")
_DATE = models.DateField(name="date")


def _local(naive: datetime.datetime) -> datetime.datetime:
    """A wall-clock time in Django's current time zone, as the ORM's date transforms read them."""
    return timezone.make_aware(naive, timezone.get_current_timezone()) if settings.USE_TZ else naive


class Transform:
    """A transform whose value stands for a span of stored values (``year``, ``date``).

    Every lookup on it becomes a comparison with the span's ends, as the ORM's own
    ``year`` optimisation does, so no ``$expr`` (which FerretDB v1 lacks) is needed.
    """

    transform_name: ClassVar[str]
    applies_to: ClassVar[frozenset[str]]
    lookups: ClassVar[frozenset[str]] = frozenset({"exact", "gt", "gte", "lt", "lte", "range", "in", "isnull"})

    def span(self, target: Target, lookup: str, value: Any) -> Span:
        raise NotImplementedError

    def condition(self, target: Target, lookup: str, value: Any) -> Condition:
        name = f"{self.transform_name}__{lookup}"
        if target.field.get_internal_type() not in self.applies_to:
            raise target.unsupported(name, f"{self.transform_name} applies to {' and '.join(sorted(self.applies_to))}, "
                                           f"not {target.field.get_internal_type()}")
        if lookup not in self.lookups:
            raise target.unsupported(name, f"{self.transform_name} supports {', '.join(sorted(self.lookups))}")
        if lookup == "isnull":  # YEAR(x) IS NULL exactly when x IS NULL
            return IsNull().condition(target, value)
        reject_expression(target, name, value)
        if value is None:
            if lookup == "exact":
                return IsNull().condition(target, True)
            raise target.bad_value(name, "None cannot be compared (use isnull=True)")
        if lookup == "in":
            if not hasattr(value, "__iter__"):
                raise target.bad_value(name, f"expected a list of values, got {shown(value)}")
            spans = [self.span(target, name, item) for item in value if item is not None]
            return Condition(or_(*(_within(target, span) for span in spans)))
        if lookup == "range":
            low, high = two_values(target, name, value)
            first, last = self.span(target, name, low), self.span(target, name, high)
            return Condition(_within(target, Span(first.low, last.high, last.high_inclusive)))
        return Condition(_SPAN_LOOKUPS[lookup](target, self.span(target, name, value)))


class Year(Transform):
    """``__year``: Jan 1 through Dec 31 (local time for a DateTimeField), the bounds the ORM uses."""

    transform_name = "year"
    applies_to = frozenset({"DateField", "DateTimeField"})

    def span(self, target: Target, lookup: str, value: Any) -> Span:
        year = prepare(target, lookup, value, _YEAR)
        if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
            raise target.bad_value(lookup, f"year {year} is out of range")
        if target.exact_micros:
            low: Any = _local(datetime.datetime(year, 1, 1))
            high: Any = _local(datetime.datetime(year, 12, 31, 23, 59, 59, 999999))
        else:
            low, high = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        return Span(stored(target, lookup, low), stored(target, lookup, high), high_inclusive=True)


class Date(Transform):
    """``__date`` of a DateTimeField: from local midnight to the next one, in the current time zone."""

    transform_name = "date"
    applies_to = frozenset({"DateTimeField"})

    def span(self, target: Target, lookup: str, value: Any) -> Span:
        day = prepare(target, lookup, value, _DATE)
        low = stored(target, lookup, _local(datetime.datetime.combine(day, datetime.time.min)))
        if day == datetime.date.max:
            return Span(low, None, high_inclusive=False)
        following = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
        return Span(low, stored(target, lookup, _local(following)), high_inclusive=False)


TRANSFORMS: dict[str, Transform] = {"year": Year(), "date": Date()}

_RECURRING = ("{} recurs (every year, month or day has one), so it is not one range of stored values; "
              "extracting it needs $expr, which FerretDB v1 does not support")
UNSUPPORTED_TRANSFORMS: dict[str, str] = {
    name: _RECURRING.format(name)
    for name in ("month", "day", "week", "week_day", "iso_week_day", "quarter", "hour", "minute", "second", "time")
} | {"iso_year": "iso_year is not translated (use year, or a range of dates)"}

KNOWN_NAMES = frozenset(LOOKUPS) | frozenset(TRANSFORMS) | frozenset(UNSUPPORTED_TRANSFORMS)


def build_condition(target: Target, names: list[str], value: Any) -> Condition:
    """The condition for ``<path>__<names...>=value`` (no names: ``exact``)."""
    names = names or ["exact"]
    head, rest = names[0], names[1:]
    what = "__".join(names)
    if head in TRANSFORMS:
        if len(rest) > 1:
            raise target.unsupported(what, f"{head} can be followed by one lookup only")
        return TRANSFORMS[head].condition(target, rest[0] if rest else "exact", value)
    if head in UNSUPPORTED_TRANSFORMS:
        raise target.unsupported(what, UNSUPPORTED_TRANSFORMS[head])
    if head in LOOKUPS and not rest:
        return LOOKUPS[head].condition(target, value)
    raise target.unsupported(what, "unknown lookup; supported: " + ", ".join([*LOOKUPS, *TRANSFORMS]))
