"""Optional error reporting to Sentry, on only when SENTRY_DSN is set (settings call `sentry_init`).

sentry-sdk is imported here and only here, when a DSN is configured, so an
install without one pays nothing for it. Errors from pages, the API and
Celery tasks are reported with their request or task. Baton holds
customers' data, so no personal data (users' addresses, cookies), request
bodies or stack frames' local variables are sent.
"""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
    )
