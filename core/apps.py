from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared helpers no domain app owns (events, form errors, the API's error shape); no models."""

    name = "core"
