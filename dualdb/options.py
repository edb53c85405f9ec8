"""A model's ``class Mirror`` options, read once and validated."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

KNOWN_OPTIONS = frozenset({"collection", "embed", "exclude", "depth", "indexes"})


@dataclass(frozen=True)
class MirrorOptions:
    """What the user asked for; ``embed=None`` means "the default embedding"."""

    collection: str
    embed: tuple[str, ...] | None
    exclude: tuple[str, ...]
    depth: int
    indexes: tuple[str, ...]
    unknown: tuple[str, ...] = ()


def default_collection_name(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}_{model._meta.model_name}"


def read_options(model: type[models.Model]) -> MirrorOptions:
    mirror = getattr(model, "Mirror", None)
    declared = {name: value for name, value in vars(mirror).items() if not name.startswith("_")} if mirror else {}
    embed = declared.get("embed")
    return MirrorOptions(
        collection=declared.get("collection") or default_collection_name(model),
        embed=tuple(embed) if embed is not None else None,
        exclude=tuple(declared.get("exclude", ())),
        depth=declared.get("depth", 1),
        indexes=tuple(declared.get("indexes", ())),
        unknown=tuple(sorted(set(declared) - KNOWN_OPTIONS)),
    )
