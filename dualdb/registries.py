"""Which models are mirrored, their document shapes, and who embeds whom.

Built once, lazily, after Django's app registry is ready. Besides the shapes it
answers the question every write asks: "which documents embed this object?" —
for content changes (a renamed author) and for link changes (a tag added to a book).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Field

from querying.shape import Relation, Shape, mongo_path, orm_path

from .options import MirrorOptions, read_options
from .spec import SpecProblem, build_shape


@dataclass(frozen=True)
class Embedding:
    """Documents of ``mirrored`` embed objects at ``path`` (``()`` = the document itself)."""

    mirrored: type[models.Model]
    path: tuple[Relation, ...]

    @property
    def orm_path(self) -> str:
        return orm_path(self.path)

    @property
    def mongo_id_path(self) -> str:
        return f"{mongo_path(self.path)}._id" if self.path else "_id"


@dataclass(frozen=True)
class MirrorSpec:
    model: type[models.Model]
    options: MirrorOptions
    shape: Shape
    problems: tuple[SpecProblem, ...]

    @property
    def collection_name(self) -> str:
        return self.options.collection


class MirrorRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[type[models.Model], MirrorSpec] | None = None
        self._content: dict[type[models.Model], list[Embedding]] = {}
        self._links: dict[tuple[Field, bool], list[Embedding]] = {}

    # --- building -------------------------------------------------------------

    def _ensure(self) -> dict[type[models.Model], MirrorSpec]:
        if self._specs is None:
            with self._lock:
                if self._specs is None:
                    self._build()
        assert self._specs is not None
        return self._specs

    def _build(self) -> None:
        from .models import MirroredModel

        specs = {}
        content: dict[type[models.Model], list[Embedding]] = defaultdict(list)
        links: dict[tuple[Field, bool], list[Embedding]] = defaultdict(list)
        for model in apps.get_models():
            if not issubclass(model, MirroredModel) or model._meta.proxy:
                continue
            options = read_options(model)
            built = build_shape(model, options)
            specs[model] = MirrorSpec(model, options, built.shape, tuple(built.problems))
            for path in built.shape.paths():
                relation = path[-1]
                content[relation.shape.model].append(Embedding(model, path))
                if relation.field.many_to_many:
                    links[_link_key(relation)].append(Embedding(model, path[:-1]))
        self._content = dict(content)
        self._links = dict(links)
        self._specs = specs

    def reset(self) -> None:
        """Forget everything; the next question rebuilds (tests that add models use it)."""
        with self._lock:
            self._specs = None

    # --- questions ------------------------------------------------------------

    def models(self) -> list[type[models.Model]]:
        return list(self._ensure())

    def is_mirrored(self, model: type[models.Model]) -> bool:
        return model in self._ensure()

    def spec(self, model: type[models.Model]) -> MirrorSpec:
        try:
            return self._ensure()[model]
        except KeyError:
            raise LookupError(f"{model._meta.label} is not a mirrored model (it does not subclass MirroredModel).") from None

    def shape(self, model: type[models.Model]) -> Shape:
        return self.spec(model).shape

    def embeddings_of(self, model: type[models.Model]) -> list[Embedding]:
        """Documents that embed objects of *model* (its own collection not included)."""
        self._ensure()
        return self._content.get(model, [])

    def link_embeddings(self, m2m_field: Field, from_owner_side: bool) -> list[Embedding]:
        """Documents whose embedding crosses *m2m_field*, by the node on the given side."""
        self._ensure()
        return self._links.get((m2m_field, from_owner_side), [])

    def watched_models(self) -> set[type[models.Model]]:
        """Every model whose writes can change some document."""
        return set(self._ensure()) | set(self._content)

    def embedded_m2m_fields(self) -> set[Field]:
        self._ensure()
        return {m2m_field for m2m_field, _side in self._links}


def _link_key(relation: Relation) -> tuple[Field, bool]:
    """The M2M field a relation crosses, and whether it is crossed from the field's owner."""
    if relation.is_reverse:
        return relation.field.field, False
    return relation.field, True


registry = MirrorRegistry()
