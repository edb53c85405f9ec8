"""Every Python example in README.md and docs/*.md runs here, so the docs cannot drift from the code.

The scheme: each ```python block is handled according to the HTML comment on the
line just above its opening fence (invisible on the rendered site):

* **no comment**: executed. The blocks of one page run in order in one namespace,
  against the suite's databases (writes commit and are mirrored, as in
  production). A block imports what it uses; ``author_id`` (an author with a
  book) is the one name the prose provides. Every top-level expression whose
  value is a ``.mongo()`` queryset is evaluated, so its query really runs on the
  MongoDB-protocol server.
* ``<!-- snippet: no-eval — reason -->``: executed, so every queryset is built
  and its lookups are translated, but expressions are not evaluated (the reason
  says why, e.g. a query FerretDB v1 refuses on purpose).
* ``<!-- snippet: settings -->``: a settings module. Executed; its ``DUALDB``
  must pass dualdb's own validation (unknown keys, bad ``MODE``), and an
  ``INSTALLED_APPS`` must contain ``"dualdb"``.
* ``<!-- snippet: models -->``: model definitions. Executed as the models module
  of a scratch app in an isolated app registry; each ``MirroredModel``'s
  ``Mirror`` options must be valid (what checks E001–E004 would report).
* ``<!-- snippet: skip — reason -->``: not executed. The reason is required and
  says where the same code is exercised.

Besides, the configuration reference must list every key of ``dualdb.conf.DEFAULTS``
with its actual default.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.test.utils import isolate_apps

from dualdb.conf import DEFAULTS, DualDBSettings

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KINDS = {"run", "no-eval", "settings", "models", "skip"}

_BLOCK = re.compile(r"(?:<!-- snippet: (?P<marker>[^>]*?) -->\n)?^```python\n(?P<code>.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int
    kind: str
    reason: str
    code: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def snippets(page: Path) -> list[Snippet]:
    text = page.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        marker = (match["marker"] or "run").strip()
        kind, _, reason = marker.partition(" ")
        found.append(Snippet(page, text.count("\n", 0, match.start("code")), kind,
                             reason.strip(" —-"), match["code"]))
    return found


ALL = [snippet for page in PAGES for snippet in snippets(page)]


def test_every_block_has_a_known_kind_and_every_skip_a_reason():
    assert len(ALL) >= 15, "the pattern no longer finds the docs' code blocks"
    for snippet in ALL:
        assert snippet.kind in KINDS, f"{snippet}: unknown snippet marker {snippet.kind!r}"
        if snippet.kind in ("skip", "no-eval"):
            assert len(snippet.reason) > 10, f"{snippet}: say why it is not executed"


def test_every_python_fence_is_seen():
    """A ```python fence the pattern misses (indented, say) would silently escape the tests."""
    for page in PAGES:
        fences = len(re.findall(r"^\s*```python\s*$", page.read_text(), re.M))
        assert fences == len(snippets(page)), f"{page.relative_to(ROOT)}: a ```python block is not at column 0"


# --- settings and models ---------------------------------------------------------------------------


@pytest.mark.parametrize("snippet", [s for s in ALL if s.kind == "settings"], ids=str)
def test_settings_snippets_are_valid(snippet):
    namespace: dict[str, Any] = {}
    exec(compile(snippet.code, str(snippet), "exec"), namespace)
    if "INSTALLED_APPS" in namespace:
        assert "dualdb" in namespace["INSTALLED_APPS"]
    assert "DUALDB" in namespace, f"{snippet}: a settings snippet shows the DUALDB setting"
    with override_settings(DUALDB=namespace["DUALDB"]):
        DualDBSettings().MODE  # noqa: B018 - loading validates every key


@pytest.mark.parametrize("snippet", [s for s in ALL if s.kind == "models"], ids=str)
def test_model_snippets_define_valid_mirrored_models(snippet):
    from dualdb.models import MirroredModel
    from dualdb.options import read_options
    from dualdb.spec import build_shape

    with isolate_apps("tests.testapp"):
        namespace: dict[str, Any] = {"__name__": "tests.testapp.docs_snippet"}
        exec(compile(snippet.code, str(snippet), "exec"), namespace)
        mirrored = [value for value in namespace.values()
                    if isinstance(value, type) and issubclass(value, MirroredModel) and value is not MirroredModel]
        assert mirrored, f"{snippet}: no MirroredModel defined"
        for model in mirrored:
            built = build_shape(model, read_options(model))
            assert not built.problems, f"{snippet}: {model.__name__}: {[p.message for p in built.problems]}"
            assert not read_options(model).unknown


# --- executed examples -----------------------------------------------------------------------------


def _evaluating(code: str) -> ast.Module:
    """The block's AST, with each top-level expression passed to ``__touch__``."""
    tree = ast.parse(code)
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Expr):
            call = ast.Call(func=ast.Name("__touch__", ast.Load()), args=[node.value], keywords=[])
            tree.body[index] = ast.copy_location(ast.Expr(call), node)
    return ast.fix_missing_locations(tree)


def _touch(value: Any) -> Any:
    from querying.queryset import MongoQuerySet

    if isinstance(value, MongoQuerySet):
        list(value)
    return value


RUN_PAGES = sorted({s.page for s in ALL if s.kind in ("run", "no-eval")}, key=str)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_page_examples_run(page):
    from tests.testapp.models import Author, Book

    author = Author.objects.create(name="Stanisław Lem")
    Book.objects.create(title="Solaris", author=author)
    namespace: dict[str, Any] = {"__name__": "docs_snippet", "__touch__": _touch, "author_id": author.pk}
    for snippet in snippets(page):
        if snippet.kind == "run":
            code = compile(_evaluating(snippet.code), str(snippet), "exec")
        elif snippet.kind == "no-eval":
            code = compile(snippet.code, str(snippet), "exec")
        else:
            continue
        try:
            exec(code, namespace)
        except Exception as exc:
            raise AssertionError(f"{snippet} failed: {exc!r}") from exc


# --- the configuration reference -------------------------------------------------------------------


def test_configuration_reference_lists_every_key_with_its_default():
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", text, re.M))
    assert set(rows) == set(DEFAULTS), "docs/configuration.md and dualdb/conf.py DEFAULTS disagree"
    for key, default in rows.items():
        assert ast.literal_eval(default) == DEFAULTS[key], f"{key}: documented default {default}"
