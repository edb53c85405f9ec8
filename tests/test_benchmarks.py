"""`make bench-smoke`: every benchmark scenario at the small size, so the benchmark code never rots.

Asserts structure only (every path agreed with the ORM, every scenario and path is
in the JSON, the charts are PNGs); timings are never asserted.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from benchmarks.reads import PATHS
from benchmarks.runner import run

SCENARIOS = {"list_50", "list_500", "detail", "filter_author", "filter_tag", "count", "export"}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.django_db(transaction=True)
def test_whole_benchmark_at_small_size(tmp_path, mongo_db):
    before = dict(settings.DUALDB)
    docs_page = tmp_path / "benchmarks.md"
    docs_page.write_text("# Benchmarks\n\n<!-- bench-results:start -->\nold\n<!-- bench-results:end -->\n\nFindings.\n")
    results = run("small", output=tmp_path, images=tmp_path / "img", progress=False, command="pytest",
                  docs_page=docs_page)

    assert settings.DUALDB == before  # modes switched for the write scenarios are switched back
    data = json.loads((tmp_path / "latest.json").read_text())
    assert set(data["reads"]["scenarios"]) == SCENARIOS
    for key, scenario in data["reads"]["scenarios"].items():
        covered = set(scenario["paths"]) | set(scenario["not_applicable"])
        assert covered == set(PATHS), key
        for name, path in scenario["paths"].items():
            assert path["equal_to_orm"] is True, (key, name)
            assert len(path["samples_s"]) == results["plan"]["repetitions"], (key, name)
    # Zero SQL on the MongoDB paths: that is the point of .mongo().
    for key, scenario in data["reads"]["scenarios"].items():
        for name in ("pymongo", "mongo", "mongo_values"):
            if name in scenario["paths"]:
                assert scenario["paths"][name]["sql_queries"] == 0, (key, name)
                assert scenario["paths"][name]["mongo_commands"] >= 1, (key, name)
    assert data["reads"]["scenarios"]["list_50"]["paths"]["orm_naive"]["sql_queries"] > \
        data["reads"]["scenarios"]["list_50"]["paths"]["orm_best"]["sql_queries"]
    assert set(data["writes"]["save"]) == {"plain", "relay"}
    assert set(data["writes"]["save_realtime"]) == {"plain", "realtime"}
    assert set(data["writes"]["save_in_transaction"]) == {"plain", "relay"}
    # The outbox rows ride in the row's own statement (dualdb.saving).
    assert data["writes"]["save_sql_queries"]["relay"] == data["writes"]["save_sql_queries"]["plain"] == 1
    assert set(data["writes"]["bulk_create"]) == {"plain", "realtime", "relay"}
    assert set(data["writes"]["rename"]) == {"realtime", "relay"}
    assert set(data["writes"]["backfill"]) == {"backfill", "insert_many"}
    assert data["lag"]["writes"] == len(data["lag"]["delays"]) + data["lag"]["not_visible"] > 0
    assert data["profile"]["stages"] and data["profile"]["cprofile"]
    assert data["backfill_profile"]["stages"] and data["backfill_profile"]["documents"] > 0
    assert {t["where"] for t in data["targets"]} >= {"detail", "export", "save", "backfill", "lag"}
    assert data["generation"]["counts"]["books"] > 0 and data["sync_peak_rss_mb"]

    for name in ("reads.png", "lag.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
        assert (tmp_path / "img" / name).read_bytes() == (tmp_path / name).read_bytes()
    docs = docs_page.read_text()
    assert "old" not in docs and "### Targets" in docs and docs.endswith("Findings.\n")
    page = (tmp_path / "latest.md").read_text()
    for heading in ("## Targets", "## Reads", "## Writes", "## Mirror lag", "## Where the time of a `.mongo()`",
                    "## Where the time of a backfill batch"):
        assert heading in page


@pytest.mark.django_db(transaction=True)
def test_on_a_scanning_server_the_first_timed_repetition_is_the_check(mongo_db, monkeypatch):
    from dataclasses import replace

    from benchmarks import reads
    from benchmarks.generate import populate
    from benchmarks.runner import FERRETDB_PLANS, PLANS, Mismatch, plan_for, run_reads

    assert plan_for("default", is_ferretdb=True) is FERRETDB_PLANS["default"]
    assert plan_for("default", is_ferretdb=False) is PLANS["default"]
    assert plan_for("small", is_ferretdb=True) is PLANS["small"]
    populate("small", progress=False)
    plan = replace(PLANS["small"], check_in_first_repetition=True)
    out = run_reads("testapp", plan, lambda message: None, requested_detail=plan.detail)

    assert out["mongo_checked_in_first_repetition"] is True
    for key, scenario in out["scenarios"].items():
        for name, path in scenario["paths"].items():
            assert len(path["samples_s"]) == plan.repetitions, (key, name)
            expected_sql = 0 if name in ("pymongo", "mongo", "mongo_values") else 1
            assert (path["sql_queries"] >= 1) == bool(expected_sql), (key, name, path)
            assert path["mongo_commands"] >= (1 - expected_sql), (key, name, path)

    # A MongoDB path that answers wrongly is still caught, after its timed runs.
    original = reads.scenarios

    def one_wrong(data):
        found = original(data)
        found[0].paths["mongo"] = lambda: ["not what the ORM says"]
        return found

    monkeypatch.setattr(reads, "scenarios", one_wrong)
    with pytest.raises(Mismatch, match="mongo differs"):
        run_reads("testapp", plan, lambda message: None, requested_detail=plan.detail)
