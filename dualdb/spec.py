"""Turn a model's ``Mirror`` options into the :class:`~querying.shape.Shape` of its document."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Field, ForeignObjectRel

from querying.shape import Relation, Shape

from .options import MirrorOptions, read_options


@dataclass
class SpecProblem:
    """One invalid option, reported by the system checks with its ID."""

    check_id: str
    message: str


@dataclass
class SpecBuild:
    shape: Shape
    problems: list[SpecProblem] = field(default_factory=list)


def stored_fields(model: type[models.Model], excluded: set[str]) -> tuple[Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if f.name not in excluded and f.attname not in excluded)


def resolve_relation(model: type[models.Model], name: str) -> Field | ForeignObjectRel | None:
    """A relation on *model* by field name, query name or reverse accessor (``reviews``, ``review_set``)."""
    try:
        candidate = model._meta.get_field(name)
    except FieldDoesNotExist:
        candidate = next(
            (rel for rel in model._meta.related_objects if rel.get_accessor_name() == name), None
        )
    return candidate if candidate is not None and candidate.is_relation else None


def accessor_name(relation_field: Field | ForeignObjectRel) -> str:
    """The attribute on the owning model, which is also the document key."""
    if isinstance(relation_field, ForeignObjectRel):
        return relation_field.get_accessor_name()
    return relation_field.name


def make_relation(relation_field: Field | ForeignObjectRel, shape: Shape) -> Relation:
    return Relation(
        name=accessor_name(relation_field),
        query_name=relation_field.name,
        many=bool(relation_field.many_to_many or relation_field.one_to_many),
        field=relation_field,
        shape=shape,
    )


def build_shape(model: type[models.Model], options: MirrorOptions) -> SpecBuild:
    problems: list[SpecProblem] = []
    label = model._meta.label
    for name in options.unknown:
        problems.append(SpecProblem("dualdb.E003", f"{label}.Mirror has an unknown option {name!r}."))
    if not isinstance(options.depth, int) or isinstance(options.depth, bool) or options.depth < 0:
        problems.append(SpecProblem("dualdb.E004", f"{label}.Mirror.depth must be an integer >= 0, not {options.depth!r}."))
        depth = 1
    else:
        depth = options.depth

    excluded = _check_exclude(model, options.exclude, problems)
    if options.embed is None:
        tree = _default_tree(model, depth, excluded)
    else:
        tree = _explicit_tree(model, options.embed, problems)
    return SpecBuild(shape=_shape_from_tree(model, tree, excluded, ""), problems=problems)


# A tree of relation names: {"author": {"publisher": {}}, "tags": {}}
Tree = dict[str, "Tree"]


def _check_exclude(model: type[models.Model], exclude: tuple[str, ...], problems: list[SpecProblem]) -> set[str]:
    excluded: set[str] = set()
    for path in exclude:
        owner = model
        *relations, leaf = path.split("__")
        for name in relations:
            relation = resolve_relation(owner, name)
            if relation is None:
                owner = None
                break
            owner = relation.related_model
        known = owner is not None and any(leaf in (f.name, f.attname) for f in owner._meta.concrete_fields)
        if not known:
            problems.append(SpecProblem(
                "dualdb.E002", f"{model._meta.label}.Mirror.exclude names {path!r}, which is not a field."))
        elif not relations and leaf == model._meta.pk.name:
            problems.append(SpecProblem(
                "dualdb.E002", f"{model._meta.label}.Mirror.exclude cannot leave out the primary key {path!r}."))
        else:
            excluded.add(path)
    return excluded


def _default_tree(model: type[models.Model], depth: int, excluded: set[str], prefix: str = "") -> Tree:
    """Forward FK/OneToOne/M2M, ``depth`` levels deep; self-references stop at the bound."""
    if depth <= 0:
        return {}
    tree: Tree = {}
    forward = [f for f in model._meta.get_fields()
               if f.is_relation and not f.auto_created and (f.concrete or f.many_to_many)]
    for relation in forward:
        path = f"{prefix}{relation.name}"
        if path in excluded or relation.related_model is None:
            continue
        tree[relation.name] = _default_tree(relation.related_model, depth - 1, excluded, path + "__")
    return tree


def _explicit_tree(model: type[models.Model], embed: tuple[str, ...], problems: list[SpecProblem]) -> Tree:
    tree: Tree = {}
    for path in embed:
        node, owner = tree, model
        for name in path.split("__"):
            relation = resolve_relation(owner, name)
            if relation is None:
                problems.append(SpecProblem(
                    "dualdb.E001",
                    f"{model._meta.label}.Mirror.embed path {path!r}: {owner._meta.label} has no relation {name!r}."))
                break
            node = node.setdefault(accessor_name(relation), {})
            owner = relation.related_model
    return tree


def _shape_from_tree(model: type[models.Model], tree: Tree, excluded: set[str], prefix: str) -> Shape:
    own_excluded = {path[len(prefix):] for path in excluded if path.startswith(prefix) and "__" not in path[len(prefix):]}
    if prefix:
        # A model's own Mirror.exclude follows it into every document that embeds it.
        own_excluded |= set(read_options(model).exclude)
    relations = []
    for name, subtree in tree.items():
        relation_field = resolve_relation(model, name)
        assert relation_field is not None  # validated while the tree was built
        child = _shape_from_tree(relation_field.related_model, subtree, excluded, f"{prefix}{name}__")
        relations.append(make_relation(relation_field, child))
    return Shape(model=model, fields=stored_fields(model, own_excluded), relations=tuple(relations))
