"""System checks: invalid ``Mirror`` options are errors that name the model and the path."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core import checks

from .registries import registry


@checks.register("dualdb")
def check_mirror_options(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    by_collection = defaultdict(list)
    for model in registry.models():
        spec = registry.spec(model)
        by_collection[spec.collection_name].append(model._meta.label)
        for problem in spec.problems:
            messages.append(checks.Error(problem.message, obj=model, id=problem.check_id))
    for collection, labels in sorted(by_collection.items()):
        if len(labels) > 1:
            messages.append(checks.Error(
                f"Models {', '.join(sorted(labels))} mirror into the same collection {collection!r}.",
                hint="Give each a distinct Mirror.collection.", id="dualdb.E005"))
    return messages
