"""Factories for red flags and subscriptions (the flag rules themselves come from the default-rules migration)."""

from __future__ import annotations

import factory
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from lifecycle.models import AlertRule, RedFlag
from notifications.models import Subscription
from users.tests.factories import CSMFactory


def default_rule(kind: str) -> AlertRule:
    """One of the rules every install ships with (lifecycle migration 0004); the first where a kind has several tiers."""
    return AlertRule.objects.filter(kind=kind).order_by("pk").first()


class RedFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RedFlag

    rule = factory.LazyFunction(lambda: default_rule("band_red"))
    account = factory.SubFactory(AccountFactory)
    owner = factory.LazyAttribute(lambda flag: flag.account.owner)
    severity = factory.LazyAttribute(lambda flag: flag.rule.severity)
    reason = "Health band is red (score 31)."
    raised_at = factory.LazyFunction(timezone.now)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    user = factory.SubFactory(CSMFactory)
    scope = "mine"
