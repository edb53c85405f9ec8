"""What "converged" means, checked the way an operator would: ``dualdb check`` over every model."""

from __future__ import annotations

import time

from dualdb.models import OutboxEntry
from dualdb.operations import check
from dualdb.registries import registry
from dualdb.relay import run_relay


def drift_summary() -> str:
    """Every mirrored model fully checked; the summaries of those that drift ('' when none does)."""
    reports = [check(model) for model in registry.models()]
    return "\n".join(report.summary() for report in reports if report.drift)


def assert_converged() -> None:
    """No outbox row left, and every document equals a fresh render of its row (none missing, none orphaned)."""
    left = list(OutboxEntry.objects.values_list("state", "model_label", "object_pk", "last_error")[:5])
    assert not left, f"outbox not drained: {left}"
    assert drift_summary() == ""


def drain(timeout: float = 60.0) -> None:
    """Run the relay until the outbox is empty (rows still backing off included)."""
    deadline = time.monotonic() + timeout
    while OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING).exists():
        assert time.monotonic() < deadline, "the relay did not drain the outbox in time"
        run_relay(once=True)


def wait_until(condition, timeout: float, message: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(interval)
