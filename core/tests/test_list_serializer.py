"""The lean list serializer answers exactly what DRF's own list serializer answers, field for field, on every kind
of field the API lists use and on the ones it leaves to the field itself (core/list_serializer.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from accounts.models import Account, Contact, Tag
from accounts.tests.factories import AccountFactory, ContactFactory
from core import list_serializer
from core.list_serializer import LeanListSerializer
from users.models import Team, User
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = pytest.mark.django_db


class OwnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined", "is_active"]


class Shouting(serializers.CharField):
    """A field with its own way of writing: the plan must leave it to the field."""

    def to_representation(self, value: Any) -> str:
        return str(value).upper()


class EveryKindSerializer(serializers.ModelSerializer):
    """The kinds of field the API lists use, and a few the plan hands back to the field."""

    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    tag_ids = serializers.PrimaryKeyRelatedField(source="tags", many=True, read_only=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    pool = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True)
    owner_detail = OwnerSerializer(source="owner", read_only=True, allow_null=True)
    # Through a relation that may be empty: DRF leaves the key out of a read-only field then.
    owner_name = serializers.CharField(source="owner.username", read_only=True)
    pool_name = serializers.CharField(source="pool.name", read_only=True, default="(none)")
    shouted = Shouting(source="name", read_only=True)
    arr_number = serializers.DecimalField(source="arr", max_digits=14, decimal_places=2, coerce_to_string=False)
    arr_rounded = serializers.DecimalField(source="arr", max_digits=14, decimal_places=0, read_only=True)
    created_day = serializers.DateTimeField(source="created_at", format="%Y-%m-%d", read_only=True)
    label = serializers.SerializerMethodField()
    everything = serializers.ReadOnlyField(source="fiscal_year_start_month")

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "industry",
            "stage",
            "arr",
            "arr_reporting",
            "contract_start",
            "renewal_date",
            "fiscal_year_start_month",
            "created_at",
            "stage_entered_at",
            "tags",
            "tag_ids",
            "owner",
            "pool",
            "owner_detail",
            "owner_name",
            "pool_name",
            "shouted",
            "arr_number",
            "arr_rounded",
            "created_day",
            "label",
            "everything",
        ]

    def get_label(self, account: Account) -> str:
        return f"{account.name} ({account.get_tier_display()})"


def both(serializer_class: type[serializers.Serializer], rows: list, **kwargs: Any) -> tuple[list, list]:
    """What DRF's list serializer answers, and what the lean one answers, for the same rows."""
    drf = serializers.ListSerializer(child=serializer_class(**kwargs), instance=rows, **kwargs).data
    lean = LeanListSerializer(child=serializer_class(**kwargs), instance=rows, **kwargs).data
    return [dict(row) for row in drf], lean


@pytest.fixture
def accounts() -> list[Account]:
    team = TeamFactory()
    csm = CSMFactory(team=team)
    plain = AccountFactory(name="Acme", owner=csm, arr=Decimal("1234.5"), arr_reporting=None, renewal_date=None)
    plain.tags.set([Tag.objects.create(name="beta"), Tag.objects.create(name="alpha")])
    pooled = AccountFactory(
        name="Birch", owner=None, pool=team, coverage="pooled", arr=Decimal("0.00"), contract_start=None
    )
    rounded = AccountFactory(name="Cedar", owner=csm, arr=Decimal("99.995"))
    return list(Account.objects.filter(pk__in=[plain.pk, pooled.pk, rounded.pk]).order_by("name"))


def test_every_kind_of_field_answers_as_drf_does(accounts):
    drf, lean = both(EveryKindSerializer, accounts)

    assert lean == drf
    acme, birch, _ = lean
    assert acme["owner_detail"]["username"] and birch["owner_detail"] is None
    assert "owner_name" in acme and "owner_name" not in birch  # DRF skips it where the owner is missing
    assert birch["pool_name"] != "(none)" and acme["pool_name"] == "(none)"
    assert acme["arr"] == "1234.50" and acme["arr_number"] == Decimal("1234.50") and acme["arr_rounded"] == "1234"
    assert acme["renewal_date"] is None and acme["arr_reporting"] is None
    assert acme["created_at"].endswith("Z") and acme["shouted"] == "ACME"
    assert acme["tags"] == drf[0]["tags"] and len(acme["tag_ids"]) == 2


def test_in_another_time_zone_datetimes_are_written_in_it(accounts):
    with timezone.override("America/New_York"):
        drf, lean = both(EveryKindSerializer, accounts)

    assert lean == drf
    assert lean[0]["created_at"].endswith(("-05:00", "-04:00"))


class FreshSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["name", "industry", "stage", "arr", "stage_entered_at", "created_at"]


def test_values_not_as_the_database_returns_them_go_through_the_field():
    """An unsaved row's float and naive datetime are the field's to convert, as DRF would."""
    fresh = Account(
        name="Unsaved",
        industry="software",
        stage="onboarding",
        arr=1500.25,  # not yet a Decimal
        stage_entered_at=dt.datetime(2026, 1, 2, 3, 4, 5),  # naive
        created_at=timezone.now(),
    )

    drf, lean = both(FreshSerializer, [fresh])

    assert lean == drf and lean[0]["arr"] == "1500.25"


def test_contacts_and_their_nullable_columns_answer_as_drf_does():
    from accounts.api.serializers import ContactSerializer

    rows = [ContactFactory(email="", departed_at=None), ContactFactory(departed=True, departed_at=timezone.now())]

    drf, lean = both(ContactSerializer, list(Contact.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")))

    assert lean == drf


def test_a_plan_is_kept_for_the_next_list_of_the_same_serializer(accounts):
    from accounts.api.serializers import ContactSerializer

    list_serializer._kept.clear()
    first = LeanListSerializer(child=ContactSerializer(), instance=[ContactFactory()]).data
    plan = list_serializer._kept[(ContactSerializer, timezone.get_current_timezone())]

    again = LeanListSerializer(child=ContactSerializer(), instance=[ContactFactory()]).data

    assert list_serializer._kept[(ContactSerializer, timezone.get_current_timezone())] is plan
    assert first[0]["id"] != again[0]["id"]


class RequestReader(serializers.CharField):
    """A custom field that reads the request: a kept plan must not answer it with an earlier one's."""

    def to_representation(self, value: Any) -> str:
        return f"{value} for {self.context['request'].user.username}"


class ReadsTheRequestSerializer(serializers.ModelSerializer):
    name = RequestReader(read_only=True)

    class Meta:
        model = Account
        fields = ["id", "name"]


def test_a_custom_field_reading_the_request_fails_loudly_instead_of_answering_for_another(accounts):
    request = APIRequestFactory().get("/")
    request.user = accounts[0].owner

    with pytest.raises(ImproperlyConfigured, match="reads the serializer's context"):
        _ = LeanListSerializer(child=ReadsTheRequestSerializer(), instance=accounts, context={"request": request}).data


def test_a_serializer_whose_fields_read_the_request_is_planned_for_each_list(accounts):
    class Mine(serializers.ModelSerializer):
        mine = serializers.SerializerMethodField()

        class Meta:
            model = Account
            fields = ["id", "mine"]

        def get_mine(self, account: Account) -> bool:
            return account.owner_id == self.context["request"].user.pk

    owner = accounts[0].owner
    someone = CSMFactory()
    answers = []
    for user in (owner, someone):
        request = APIRequestFactory().get("/")
        request.user = user
        answers.append(LeanListSerializer(child=Mine(), instance=accounts, context={"request": request}).data)

    assert [row["mine"] for row in answers[0]] == [True, False, True]
    assert [row["mine"] for row in answers[1]] == [False, False, False]
    assert not any(kind is Mine for kind, _ in list_serializer._kept)
