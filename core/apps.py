from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared helpers no domain app owns (events, form errors, the API's error shape); no models."""

    name = "core"

    def ready(self) -> None:
        from core import schema  # noqa: F401 - registers the schema extension for the authentication gate
