"""What ``manage.py dualdb`` runs: backfill, consistency check and repair, rebuild, status, indexes."""

from .backfill import BackfillReport, backfill
from .consistency import DriftReport, check
from .indexes import ensure_indexes
from .progress import Progress
from .rebuild import RebuildReport, rebuild
from .status import ModelStatus, retry_dead, status

__all__ = [
    "BackfillReport", "DriftReport", "ModelStatus", "Progress", "RebuildReport",
    "backfill", "check", "ensure_indexes", "rebuild", "retry_dead", "status",
]
