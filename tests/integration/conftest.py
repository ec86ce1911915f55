import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _postgresql_only(request):
    """These tests prove PostgreSQL behaviour; on another database they would prove nothing."""
    if request.node.get_closest_marker("django_db") and connection.vendor != "postgresql":
        pytest.fail(
            f"Integration tests run on PostgreSQL, not {connection.vendor}: use `make test-integration`.",
            pytrace=False,
        )
