"""Django finds one admin module per app; each lifecycle concept registers its own admin classes."""

from lifecycle.flags import admin as flags_admin  # noqa: F401
from lifecycle.health import admin as health_admin  # noqa: F401
from lifecycle.signals import admin as signals_admin  # noqa: F401
from lifecycle.stages import admin as stages_admin  # noqa: F401
