"""Accounts covered in every way the permission table distinguishes, plus helpers to prove nothing was written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models import Max
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account, AuditEvent, Contact, Coverage, TimelineEntry
from accounts.tests.factories import AccountFactory
from lifecycle.models import StageChange
from users.models import Team, User
from users.tests.conftest import *  # noqa: F403  (the people of the permission table)


@pytest.fixture
def own_account(csm: User) -> Account:
    """Alex's own account."""
    return AccountFactory(name="Acme Robotics", domain="acme.example", owner=csm)


@pytest.fixture
def teammate_account(teammate: User) -> Account:
    """Owned by Sam, Alex's teammate: same team, not Alex's."""
    return AccountFactory(name="Birch Health", domain="birch.example", owner=teammate)


@pytest.fixture
def pool_account(team: Team) -> Account:
    """Shared by the Enterprise team's pool, no single owner."""
    return AccountFactory(name="Cobalt Bank", domain="cobalt.example", coverage=Coverage.POOLED, owner=None, pool=team)


@pytest.fixture
def other_team_account(other_csm: User) -> Account:
    """Another team's account: read by all, changed by none of the Enterprise team."""
    return AccountFactory(name="Delta Freight", domain="delta.example", owner=other_csm)


def footprint() -> dict[str, Any]:
    """Everything a write in this app leaves behind: row counts and the latest update stamps."""
    return {
        "accounts": Account.objects.count(),
        "accounts_updated": Account.objects.aggregate(latest=Max("updated_at"))["latest"],
        "contacts": Contact.objects.count(),
        "contacts_updated": Contact.objects.aggregate(latest=Max("updated_at"))["latest"],
        "timeline": TimelineEntry.objects.count(),
        "audit": AuditEvent.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "users": User.objects.count(),
        "teams": Team.objects.count(),
    }


@pytest.fixture
def nothing_written() -> Callable[[], Any]:
    """`with nothing_written(): ...` fails if the block inserted or updated any domain row."""

    @contextmanager
    def check() -> Iterator[None]:
        before = footprint()
        yield
        assert footprint() == before

    return check


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """An API client signed in as `user` by session (the browser) or token (an integration)."""

    def make(user: User | None = None, *, auth: str = "session") -> APIClient:
        client = APIClient()
        if user is None:
            return client
        if auth == "token":
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        else:
            client.force_login(user)
        return client

    return make


def account_form_data(account: Account | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid POST for the account form, taken from `account` when given."""
    data: dict[str, Any] = {
        "name": "Echo Media",
        "domain": "echo.example",
        "industry": "media",
        "region": "emea",
        "employee_band": "201-1000",
        "arr": "120000",
        "currency": "EUR",
        "contract_start": "2025-01-01",
        "renewal_date": "2026-01-01",
        "fiscal_year_start_month": "4",
        "tier": "high",
        "why_they_bought": "Their support team drowned in spreadsheets.",
        "tech_stack_notes": "Salesforce, Zendesk",
    }
    if account is not None:
        for name in data:
            value = getattr(account, name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            data[name] = "" if value is None else str(value)
    data.update(overrides)
    return data
