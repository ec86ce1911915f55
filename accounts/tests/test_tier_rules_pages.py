"""Tier rules on their page, in the API and on the account form: admins configure, managers preview, CSMs read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Account, AuditAction, AuditEvent, Tier, TierRule, TierSource
from accounts.segments.services import tier_rule_create
from accounts.tests.conftest import account_form_data
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
D = Decimal
HIGH, LOW, TECH = Tier.HIGH_TOUCH, Tier.LOW_TOUCH, Tier.TECH_TOUCH


@pytest.fixture
def rules(admin):
    return [
        tier_rule_create(actor=admin, tier=HIGH, min_arr=D("100000")),
        tier_rule_create(actor=admin, tier=LOW, min_arr=D("20000")),
        tier_rule_create(actor=admin, tier=TECH),
    ]


# Pages


def test_everyone_reads_the_rules_and_only_admins_see_the_controls(client, csm, admin, rules):
    client.force_login(csm)
    page = client.get(reverse("tier-rule-list"))
    assert page.status_code == 200
    assert "ARR at least 100,000" in page.text and 'id="tier-rule-form"' not in page.text
    client.force_login(admin)
    page = client.get(reverse("tier-rule-list"))
    assert 'id="tier-rule-form"' in page.text and reverse("tier-rule-list") in page.text


def test_an_admin_adds_edits_moves_and_deletes_a_rule(client, admin):
    client.force_login(admin)
    response = client.post(reverse("tier-rule-list"), {"tier": HIGH, "min_arr": "100000"})
    assert response.status_code == 302
    client.post(reverse("tier-rule-list"), {"tier": TECH})
    first, second = TierRule.objects.in_order()
    assert (
        client.post(reverse("tier-rule-edit", args=[first.pk]), {"tier": HIGH, "min_arr": "150000"}).status_code == 302
    )
    first.refresh_from_db()
    assert first.min_arr == D("150000")
    client.post(reverse("tier-rule-move", args=[second.pk]), {"direction": "up"})
    assert list(TierRule.objects.in_order()) == [second, first]
    client.post(reverse("tier-rule-delete", args=[second.pk]))
    assert list(TierRule.objects.values_list("pk", "position")) == [(first.pk, 1)]


def test_a_rule_that_makes_no_sense_is_shown_again_with_its_error(client, admin):
    client.force_login(admin)
    response = client.post(reverse("tier-rule-list"), {"tier": HIGH, "min_arr": "500", "max_arr": "100"})
    assert response.status_code == 422
    assert "must be more than" in response.text
    assert not TierRule.objects.exists()


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_only_admins_change_the_rules_on_the_page(client, request, rules, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("tier-rule-list"), {"tier": HIGH}).status_code == 403
    assert client.post(reverse("tier-rule-edit", args=[rules[0].pk]), {"tier": LOW}).status_code == 403
    assert client.post(reverse("tier-rule-delete", args=[rules[0].pk])).status_code == 403
    assert client.post(reverse("tier-rule-move", args=[rules[1].pk])).status_code == 403
    assert client.post(reverse("tier-apply"), {"expected": 0}).status_code == 403
    assert TierRule.objects.count() == 3


def test_a_manager_sees_the_preview_and_a_csm_does_not(client, csm, manager, rules):
    AccountFactory(name="Big Fish", arr=D("150000"), tier=LOW)
    client.force_login(manager)
    page = client.get(reverse("tier-preview"))
    assert page.status_code == 200
    assert "Big Fish" in page.text and "Low-touch → High-touch: 1" in page.text
    assert 'id="tier-apply-form"' not in page.text
    client.force_login(csm)
    assert client.get(reverse("tier-preview")).status_code == 403


def test_the_preview_page_lists_accounts_without_a_rate_and_keeps_a_fixed_query_count(
    client, admin, rules, django_assert_num_queries
):
    AccountFactory(name="Yen Corp", arr=D("9000000"), currency="JPY")
    AccountFactory.create_batch(3, arr=D("150000"), tier=LOW)
    client.force_login(admin)
    with django_assert_num_queries(10):
        page = client.get(reverse("tier-preview"))
    assert "Yen Corp" in page.text and "no exchange rate for JPY" in page.text
    AccountFactory.create_batch(10, arr=D("150000"), tier=LOW)
    AccountFactory(arr=D("1"), currency="CHF")
    with django_assert_num_queries(10):
        client.get(reverse("tier-preview"))


def test_an_admin_applies_the_count_they_saw(client, admin, rules):
    account = AccountFactory(arr=D("150000"), tier=LOW)
    client.force_login(admin)
    stale = client.post(reverse("tier-apply"), {"expected": 4})
    assert stale.status_code == 422 and "look at the preview again" in stale.text
    assert client.post(reverse("tier-apply"), {"expected": 1}).status_code == 302
    account.refresh_from_db()
    assert account.tier == HIGH


@pytest.mark.parametrize(
    ("moving", "expected", "said"),
    [(1, 2, "The rules now move 1 account, not 2"), (2, 1, "The rules now move 2 accounts, not 1")],
)
def test_a_stale_count_is_refused_with_the_accounts_counted_in_english(client, admin, rules, moving, expected, said):
    AccountFactory.create_batch(moving, arr=D("150000"), tier=LOW)
    client.force_login(admin)
    stale = client.post(reverse("tier-apply"), {"expected": expected})
    assert stale.status_code == 422 and said in stale.text


# The account form


def test_the_account_form_says_the_rules_set_the_tier_and_choosing_one_sets_it_by_hand(client, csm, rules):
    account = AccountFactory(owner=csm, arr=D("150000"), tier=HIGH)
    client.force_login(csm)
    page = client.get(reverse("account-edit", args=[account.pk]))
    assert "Follows the tier rules" in page.text and "Rule 1" in page.text
    assert '<option value="" selected>Let the rules decide</option>' in page.text

    data = account_form_data(account, currency="USD", arr="150000", tier=TECH, tier_reason="Self-serve by choice")
    assert client.post(reverse("account-edit", args=[account.pk]), data).status_code == 302
    account.refresh_from_db()
    assert (account.tier, account.tier_source, account.tier_reason) == (TECH, TierSource.MANUAL, "Self-serve by choice")
    page = client.get(reverse("account-edit", args=[account.pk]))
    assert "Set by hand" in page.text and "Self-serve by choice" in page.text

    data = account_form_data(account, currency="USD", arr="150000", tier="", tier_reason="")
    assert client.post(reverse("account-edit", args=[account.pk]), data).status_code == 302
    account.refresh_from_db()
    assert (account.tier, account.tier_source) == (HIGH, TierSource.RULES)


def test_a_new_account_left_to_the_rules_gets_their_tier(client, manager, csm, rules):
    client.force_login(manager)
    data = account_form_data(currency="USD", arr="25000", tier="")
    data.update({"cov-coverage": "assigned", "cov-owner": csm.pk})
    assert client.post(reverse("account-create"), data).status_code == 302
    account = Account.objects.get(name="Echo Media")
    assert (account.tier, account.tier_source) == (LOW, TierSource.RULES)


# API


def test_everyone_signed_in_reads_the_rules_in_order(api, csm, rules):
    response = api(csm).get(reverse("api:tier-rule-list"))
    assert response.status_code == 200
    assert [(row["position"], row["tier"], row["conditions"]) for row in response.json()] == [
        (1, HIGH, "ARR at least 100,000"),
        (2, LOW, "ARR at least 20,000"),
        (3, TECH, "every account"),
    ]
    assert api().get(reverse("api:tier-rule-list")).status_code in (401, 403)


def test_an_admin_writes_rules_through_the_api(api, admin, rules):
    client = api(admin)
    created = client.post(reverse("api:tier-rule-list"), {"tier": HIGH, "industry": "media"}, format="json")
    assert created.status_code == 201 and created.json()["position"] == 4
    url = reverse("api:tier-rule-detail", args=[created.json()["id"]])
    assert client.patch(url, {"max_arr": "5000"}, format="json").json()["max_arr"] == "5000.00"
    order = [created.json()["id"], *[rule.pk for rule in rules]]
    reordered = client.post(reverse("api:tier-rule-reorder"), {"order": order}, format="json")
    assert [row["id"] for row in reordered.json()] == order
    assert client.delete(url).status_code == 204
    assert AuditEvent.objects.filter(action=AuditAction.TIER_RULES_REORDERED).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"tier": "gold"},
        {"tier": HIGH, "min_arr": "100", "max_arr": "50"},
        {"tier": HIGH, "min_arr": "-5"},
        {"tier": HIGH, "min_arr": "lots"},
        {"tier": HIGH, "region": "mars"},
        {},
    ],
)
def test_a_bad_rule_is_a_400_with_field_errors(api, admin, body):
    response = api(admin).post(reverse("api:tier-rule-list"), body, format="json")
    assert response.status_code == 400
    assert isinstance(response.json(), dict) and response.json()
    assert not TierRule.objects.exists()


def test_a_bad_reorder_or_apply_is_a_400(api, admin, rules):
    client = api(admin)
    assert client.post(reverse("api:tier-rule-reorder"), {"order": [rules[0].pk]}, format="json").status_code == 400
    assert client.post(reverse("api:tier-rule-reorder"), {"order": "x"}, format="json").status_code == 400
    assert client.post(reverse("api:tier-rule-apply"), {"expected": "many"}, format="json").status_code == 400
    AccountFactory(arr=D("150000"), tier=LOW)
    stale = client.post(reverse("api:tier-rule-apply"), {"expected": 3}, format="json")
    assert stale.status_code == 400 and "expected" in stale.json()


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_only_admins_write_rules_or_apply_them_through_the_api(api, request, rules, who):
    client = api(request.getfixturevalue(who))
    assert client.post(reverse("api:tier-rule-list"), {"tier": HIGH}, format="json").status_code == 403
    url = reverse("api:tier-rule-detail", args=[rules[0].pk])
    assert client.patch(url, {"tier": LOW}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert client.post(reverse("api:tier-rule-reorder"), {"order": []}, format="json").status_code == 403
    assert client.post(reverse("api:tier-rule-apply"), {}, format="json").status_code == 403


def test_the_preview_and_apply_endpoints_agree(api, admin, manager, csm, rules):
    moving = AccountFactory(name="Big Fish", arr=D("150000"), tier=LOW)
    AccountFactory(name="Yen Corp", arr=D("1"), currency="JPY")
    assert api(csm).get(reverse("api:tier-rule-preview")).status_code == 403
    preview = api(manager).get(reverse("api:tier-rule-preview")).json()
    assert (preview["moving"], preview["no_rate"], preview["count"]) == (1, 1, 1)
    assert preview["moves"] == [{"from_tier": LOW, "to_tier": HIGH, "count": 1}]
    row = preview["results"][0]
    assert (row["id"], row["from_tier"], row["to_tier"]) == (moving.pk, LOW, HIGH)
    assert row["reason"] == "Rule 1: ARR at least 100,000 USD"

    applied = api(admin).post(reverse("api:tier-rule-apply"), {"expected": preview["moving"]}, format="json")
    assert applied.status_code == 200
    assert applied.json() == {"moved": 1, "no_rate": 1, "moves": [{"from_tier": LOW, "to_tier": HIGH, "count": 1}]}


def test_an_account_set_by_hand_through_the_api_stays_and_can_be_handed_back(api, csm, own_account, rules):
    url = reverse("api:account-detail", args=[own_account.pk])
    response = api(csm).patch(url, {"tier": TECH, "tier_reason": "Asked for self-serve"}, format="json")
    assert response.status_code == 200
    assert (response.json()["tier"], response.json()["tier_source"]) == (TECH, TierSource.MANUAL)
    both = api(csm).patch(url, {"tier": HIGH, "tier_source": "rules"}, format="json")
    assert both.status_code == 400 and "tier" in both.json()
    handed_back = api(csm).patch(url, {"tier_source": "rules"}, format="json").json()
    assert (handed_back["tier"], handed_back["tier_source"], handed_back["tier_reason"]) == (LOW, "rules", "")


def test_a_new_account_through_the_api_follows_the_rules_unless_it_names_a_tier(api, manager, csm, rules):
    url = reverse("api:account-list")
    body = {"name": "Via API", "industry": "media", "region": "emea", "arr": "150000", "owner": csm.pk}
    ruled = api(manager).post(url, body, format="json")
    assert ruled.status_code == 201
    assert (ruled.json()["tier"], ruled.json()["tier_source"]) == (HIGH, TierSource.RULES)
    named = api(manager).post(url, {**body, "name": "Named", "tier": TECH}, format="json")
    assert (named.json()["tier"], named.json()["tier_source"]) == (TECH, TierSource.MANUAL)
    bad = api(manager).post(url, {**body, "name": "Bad", "tier_source": "robots"}, format="json")
    assert bad.status_code == 400 and "tier_source" in bad.json()
