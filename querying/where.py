"""Compile one ``filter()`` or ``exclude()`` call's ``Q`` into a MongoDB filter, with the ORM's joins.

What PostgreSQL does, and how it reads on the nested documents:

* Within one ``filter()`` call a many-valued relation is joined once, so every
  condition on it, under ``&`` or ``|``, is about the *same* related row: "some
  element of the array satisfies them all". The join is a LEFT JOIN when a
  condition can hold on NULLs (``tags__name=None``), and then a document with an
  empty array matches through the missing row.
* In a negated branch (``exclude()``, ``~Q``) the ORM gives each condition on a
  many-valued relation its own ``NOT EXISTS`` subquery; they need not be about the
  same row. One exception, which depends on order: when an earlier condition of the
  same ``filter()`` call already joined that relation, the subquery is tied to the
  joined row, so ``Q(tags__name="a") & ~Q(tags__name="b")`` means one tag named "a"
  and not "b" (unless the negated condition holds on NULLs: then its subquery needs
  its own LEFT JOIN and is tied to the document again).
* A comparison is never true on NULL, and ``$nor`` keeps documents whose value is
  null or missing, which is what the ORM's ``NOT (x > 5 AND x IS NOT NULL)`` keeps.

"Some element satisfies one condition" is written with a dotted key
(``{"tags.name": ...}``), which MongoDB and FerretDB v1 evaluate alike. Several
conditions that must hold for the same element need ``$elemMatch``, which FerretDB
v1 does not implement for arrays of documents (it matches nothing: FerretDB issues
#2262, #2964); those compile only with ``elem_match=True`` (real MongoDB) and raise
:class:`UnsupportedLookup` otherwise, rather than answer wrongly.

Separate ``filter()`` calls are compiled separately and ANDed by the caller, so their
conditions may match different elements, as in the ORM. One known difference: inside
a negation, the ORM's SQL sometimes omits the ``IS NOT NULL`` guard on a second
condition through the same nullable relation, and PostgreSQL then drops rows where
that relation is NULL; here such rows are kept, as they are for a single condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db import models
from django.db.models import Q

from .exceptions import UnsupportedLookup
from .lookups import KNOWN_NAMES, Condition, Filter, Target, and_, build_condition, document, not_, or_
from .paths import FieldPath, resolve
from .shape import ID_KEY, Relation, Shape

# Rewriting (a | b) & c into (a & c) | (b & c) to group conditions per array can grow
# exponentially; past this many conjunctions the filter is refused.
MAX_CONJUNCTIONS = 256


def compile_filter(shape: Shape, q: Q, *, elem_match: bool = False) -> dict[str, Any]:
    """The MongoDB filter for ``filter(q)`` on documents of *shape*.

    *elem_match* allows ``$elemMatch`` over arrays of embedded documents (MongoDB; not
    FerretDB v1). Raises :class:`UnsupportedLookup` for what the documents cannot
    answer and :class:`~querying.lookups.FilterValueError` for values the fields refuse.
    """
    compiler = _Compiler(shape, elem_match)
    node = compiler.tree(q, negated=False)
    return document(True if node is None else compiler.positive(_normal(node)))


def compile_exclude(shape: Shape, q: Q, *, elem_match: bool = False) -> dict[str, Any]:
    """The MongoDB filter for ``exclude(q)``: ``filter(~q)``, each multi-valued condition on its own."""
    compiler = _Compiler(shape, elem_match)
    node = compiler.tree(q, negated=True)
    return document(True if node is None else not_(compiler.positive(_normal(node))))


def server_matches_elements(build_info: Mapping[str, Any]) -> bool:
    """Whether a server's ``buildInfo`` allows ``elem_match=True`` (FerretDB v1 does not)."""
    return not str(build_info.get("ferretdbVersion", "")).startswith("v1.")


# --- the condition tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """One lookup. ``scopes`` are the embedded arrays crossed, each key relative to the previous."""

    scopes: tuple[str, ...]
    condition: Condition
    path: str


@dataclass(frozen=True)
class _All:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    """A negation; after :func:`_normal` it only wraps a leaf."""

    child: _Node


@dataclass(frozen=True)
class _Done:
    """A finished filter on the whole document: a negation, or a leaf with its own NOT EXISTS."""

    filter: Filter


_Node = _Leaf | _All | _Any | _Not | _Done


def _normal(node: _Node, negate: bool = False) -> _Node:
    """*node* with negations pushed down to the leaves (De Morgan; finished filters are negated)."""
    if isinstance(node, _Not):
        return _normal(node.child, not negate)
    if isinstance(node, (_All, _Any)):
        kind = type(node) if not negate else (_Any if isinstance(node, _All) else _All)
        return kind(tuple(_normal(child, negate) for child in node.children))
    if isinstance(node, _Done):
        return _Done(not_(node.filter)) if negate else node
    return _Not(node) if negate else node


def _reach(node: _Node) -> frozenset[str | None]:
    """The first array each leaf of *node* crosses (None: none, or a finished filter)."""
    if isinstance(node, _Leaf):
        return frozenset({node.scopes[0] if node.scopes else None})
    if isinstance(node, _Not):
        return _reach(node.child)
    if isinstance(node, _Done):
        return frozenset({None})
    return frozenset().union(*(_reach(child) for child in node.children))


def _inside(node: _Node) -> _Node:
    """*node* seen from inside its (single) first array."""
    if isinstance(node, _Leaf):
        return replace(node, scopes=node.scopes[1:])
    if isinstance(node, _Not):
        return _Not(_inside(node.child))
    if isinstance(node, (_All, _Any)):
        return type(node)(tuple(_inside(child) for child in node.children))
    raise TypeError(f"a finished filter cannot move into an array: {node!r}")


def _on_null(node: _Node) -> bool:
    """Whether *node* holds on a related row that is missing (all NULLs), as in a LEFT JOIN."""
    if isinstance(node, _Leaf):
        return node.condition.on_null
    if isinstance(node, _Not):  # NOT EXISTS(... = the missing row) holds
        return not _on_null(node.child)
    if isinstance(node, _All):
        return all(_on_null(child) for child in node.children)
    if isinstance(node, _Any):
        return any(_on_null(child) for child in node.children)
    raise TypeError(f"a finished filter has no value on a missing row: {node!r}")


def _conjuncts(node: _Node) -> list[_Node]:
    """The operands of nested ANDs, flattened."""
    if isinstance(node, _All):
        return [part for child in node.children for part in _conjuncts(child)]
    return [node]


def _paths(node: _Node) -> list[str]:
    if isinstance(node, _Leaf):
        return [node.path]
    if isinstance(node, _Done):
        return []
    if isinstance(node, _Not):
        return _paths(node.child)
    return [path for child in node.children for path in _paths(child)]


# --- arrays -----------------------------------------------------------------------------------


def _non_empty(scope: str) -> Filter:
    return {f"{scope}.0": {"$exists": True}}


def _empty(scope: str) -> Filter:
    """No element: an empty array, or none at all (under a NULL relation)."""
    return {f"{scope}.0": {"$exists": False}}


_ONE_ELEMENT_OPS = frozenset({"$eq", "$in", "$gt", "$gte", "$lt", "$lte", "$regex"})


def _one_element(condition: dict[str, Any], nulls: bool) -> bool:
    """Whether *condition*, with an array path put before its key, still means "some element matches".

    True for one operator on one key (both servers test each element on its own) and
    for ``$or`` of such. Not for two conditions that must hold for one element: MongoDB
    would let different elements satisfy them. ``$eq: None`` also matches an empty
    array on some servers, so it is allowed only where an empty array matches anyway.
    """
    if list(condition) == ["$or"]:
        return all(_one_element(part, nulls) for part in condition["$or"])
    if len(condition) != 1:
        return False
    ((key, test),) = condition.items()
    if key.startswith("$") or not isinstance(test, dict):
        return False
    ops = set(test) - {"$options"} if "$regex" in test else set(test)
    if len(ops) != 1:
        return False
    (op,) = ops
    if op == "$exists":
        return test[op] is True
    if op == "$eq" and test[op] is None:
        return nulls
    return op in _ONE_ELEMENT_OPS


def _under(scope: str, condition: dict[str, Any]) -> dict[str, Any]:
    if list(condition) == ["$or"]:
        return {"$or": [_under(scope, part) for part in condition["$or"]]}
    return {f"{scope}.{key}": test for key, test in condition.items()}


# --- compiling ------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, shape: Shape, elem_match: bool) -> None:
        self.shape = shape
        self.label = shape.model._meta.label
        self.elem_match = elem_match
        self.conjunctions = 0
        self.joined: set[str] = set()  # arrays a positive condition of this call has joined so far

    # Q -> tree

    def tree(self, q: Q, negated: bool) -> _Node | None:
        """*q* as a tree, leaves in the ORM's order.

        Inside a negation a leaf on an array is finished on its own (its own NOT EXISTS),
        unless a positive leaf before it in this call joined that array (see module doc).
        """
        if q.connector == Q.XOR:
            raise UnsupportedLookup(self.label, _describe(q), None, "XOR (^) of conditions is not supported")
        inner = negated or q.negated
        children = [node for node in (self.child(child, inner) for child in q.children) if node is not None]
        if not children:
            return None  # Q() and ~Q() add no condition, as in the ORM
        node = children[0] if len(children) == 1 else (_All if q.connector == Q.AND else _Any)(tuple(children))
        if not q.negated:
            return node
        if _reach(node) == {None}:  # nothing tied to a joined row: one $nor
            return _Done(not_(self.positive(node)))
        return _Not(node)

    def child(self, child: Any, negated: bool) -> _Node | None:
        if isinstance(child, Q):
            return self.tree(child, negated)
        if not (isinstance(child, tuple) and len(child) == 2 and isinstance(child[0], str)):
            raise UnsupportedLookup(self.label, type(child).__name__, None,
                                    "only keyword lookups (field__lookup=value) can be translated, not expressions")
        leaf = self.leaf(*child)
        if not leaf.scopes:
            return leaf
        if not negated:
            self.joined.add(leaf.scopes[0])  # later negated conditions on it refer to the joined row
            return leaf
        if leaf.scopes[0] in self.joined and not leaf.condition.on_null:
            return self.about_joined_row(leaf)
        return _Done(self.positive(leaf))  # its own NOT EXISTS subquery

    def about_joined_row(self, leaf: _Leaf) -> _Leaf:
        """A negated leaf tied to the row of its first array: deeper arrays stay inside its condition."""
        if len(leaf.scopes) == 1:
            return leaf
        inner = self.positive(_Leaf(leaf.scopes[1:], leaf.condition, leaf.path))
        return _Leaf(leaf.scopes[:1], Condition(inner, leaf.condition.on_null), leaf.path)

    def leaf(self, path: str, value: Any) -> _Leaf:
        if not path or "$" in path or "." in path:
            raise UnsupportedLookup(self.label, path, None, "a lookup path may not contain '$' or '.'")
        field_path, names, related, attr = self.split(path)
        scopes, key = _scopes(field_path)
        target = Target(self.label, field_path.orm, field_path.field, key, related, attr,
                        element_pk=bool(scopes) and key == ID_KEY)
        return _Leaf(scopes, build_condition(target, names, value), path)

    def split(self, path: str) -> tuple[FieldPath, list[str], type[models.Model] | None, str]:
        """The stored field of *path*, the lookup names after it, and what instances it takes.

        Fields come first, as in the ORM: a name is a lookup only once no field has it.
        """
        parts = path.split("__")
        current, count, last_relation, on_field = self.shape, 0, None, False
        for part in parts:
            relation = _relation(current, part)
            if relation is not None:
                count, current, last_relation = count + 1, relation.shape, relation
                continue
            if part == "pk" or current.stored_field(part) is not None:
                count, on_field = count + 1, True
            break
        names = parts[count:]
        if count == 0 or (not on_field and names and names[0] not in KNOWN_NAMES):
            missing = "__".join(parts[:count + 1])
            resolve(self.shape, missing)  # raises, naming the field that is not in the document
            raise UnsupportedLookup(self.label, missing, None, "not a stored field or embedded relation")
        field_path = resolve(self.shape, "__".join(parts[:count]))
        field = field_path.field
        if field.is_relation:  # a foreign key, by name or attname
            return field_path, names, field.related_model, field.target_field.attname
        if not on_field and last_relation is not None:  # a many-valued or reverse relation: its rows' pk
            return field_path, names, last_relation.shape.model, "pk"
        return field_path, names, None, "pk"

    # tree -> filter

    def positive(self, node: _Node) -> Filter:
        """The filter for a tree in negation normal form (see :func:`_normal`)."""
        reach = _reach(node)
        scope = next(iter(reach)) if len(reach) == 1 else None
        if scope is not None:  # only about one array: one "some element" test
            return self.exists(scope, _inside(node))
        if isinstance(node, _Leaf):
            return node.condition.filter
        if isinstance(node, _Not):
            assert isinstance(node.child, _Leaf), "negations are pushed down to the leaves first"
            return not_(node.child.condition.filter)
        if isinstance(node, _Done):
            return node.filter
        if isinstance(node, _Any):
            return or_(*(self.positive(child) for child in node.children))
        return self.conjunction(list(node.children))

    def conjunction(self, children: list[_Node]) -> Filter:
        """AND: the conditions on one array go into one "some element" test.

        An OR child mixing that array with anything else is first distributed over the
        AND, since the element must be the same in each alternative.
        """
        flat = [part for child in children for part in _conjuncts(child)]
        reaches = [_reach(child) for child in flat]
        for index, (child, reach) in enumerate(zip(flat, reaches, strict=True)):
            others = frozenset().union(*(r for i, r in enumerate(reaches) if i != index))
            if isinstance(child, _Any) and len(reach) > 1 and (reach & others) - {None}:
                self.conjunctions += len(child.children)
                if self.conjunctions > MAX_CONJUNCTIONS:
                    raise UnsupportedLookup(self.label, ", ".join(_paths(child)), None,
                                            "too many alternatives combined with conditions on the same relation")
                rest = flat[:index] + flat[index + 1:]
                return or_(*(self.conjunction([*rest, alternative]) for alternative in child.children))
        groups: dict[str, list[_Node]] = {}
        parts: list[_Node | str] = []
        for child, reach in zip(flat, reaches, strict=True):
            (scope,) = reach if len(reach) == 1 else (None,)
            if scope is None:
                parts.append(child)
                continue
            if scope not in groups:
                groups[scope] = []
                parts.append(scope)
            groups[scope].append(_inside(child))
        return and_(*(self.exists(part, _All(tuple(groups[part]))) if isinstance(part, str) else self.positive(part)
                      for part in parts))

    def exists(self, scope: str, body: _Node) -> Filter:
        """Some element of the array at *scope* satisfies *body* (keys relative to the element).

        When *body* holds on a missing row (the ORM's LEFT JOIN), an empty array matches too.
        """
        inner = self.positive(body)
        on_null = _on_null(body)
        if isinstance(inner, bool):
            found: Filter = _non_empty(scope) if inner else False
        elif _one_element(inner, nulls=on_null):
            found = _under(scope, inner)
        elif self.elem_match:
            found = {scope: {"$elemMatch": inner}}
        else:
            raise UnsupportedLookup(
                self.label, ", ".join(_paths(body)), None,
                f"these conditions on {scope!r} must hold for the same related row (one filter() call joins it "
                "once), which needs $elemMatch over embedded documents; FerretDB v1 does not implement that. "
                "On MongoDB compile with elem_match=True; if different rows may satisfy them, use separate "
                "filter() calls")
        return or_(found, _empty(scope)) if on_null else found


def _relation(shape: Shape, name: str) -> Relation | None:
    return next((relation for relation in shape.relations if name in (relation.name, relation.query_name)), None)


def _scopes(field_path: FieldPath) -> tuple[tuple[str, ...], str]:
    """Split a stored key at its arrays: ``author.books.tags.name`` -> (``author.books``, ``tags``), ``name``."""
    scopes, pending = [], []
    for relation in field_path.relations:
        pending.append(relation.name)
        if relation.many:
            scopes.append(".".join(pending))
            pending = []
    leaf = field_path.mongo.rsplit(".", 1)[-1]
    return tuple(scopes), ".".join([*pending, leaf])


def _describe(q: Q) -> str:
    """The lookups of *q*, without values (their repr could query the database)."""
    return " ^ ".join(child[0] if isinstance(child, tuple) else _describe(child) if isinstance(child, Q)
                      else type(child).__name__ for child in q.children)
