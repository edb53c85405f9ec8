from __future__ import annotations

from django.apps import AppConfig


class DualDBConfig(AppConfig):
    """Wires dualdb into Django once every app's models are loaded."""

    name = "dualdb"
    verbose_name = "dualdb mirror"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, conf  # noqa: F401  (registers checks and the setting_changed receiver)
        from . import redaction
        from .receivers import connect_receivers

        connect_receivers()
        redaction.install()
