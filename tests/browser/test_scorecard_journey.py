"""An admin clones the default scorecard for high-touch accounts, tunes it, previews and backtests it, and puts it live."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import DealRole, OutcomeKind, Tier, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, OutcomeFactory, TimelineEntryFactory
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.models import (
    AccountHealth,
    Backtest,
    RedFlag,
    Scorecard,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
)
from tests.support import failures_of, login, screenshot, wait_until
from users.tests.factories import AdminFactory, CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HIGH, LOW = Tier.HIGH_TOUCH, Tier.LOW_TOUCH
CHURNED, RENEWED = OutcomeKind.CHURNED, OutcomeKind.RENEWED

# name, tier, latest NPS answer, open urgent tickets, how the last term ended. What the sponsor says
# predicts churn here; tickets do not (two renewals had a rough quarter), so counting NPS more pays off.
BOOK = [
    ("Northwind Traders", HIGH, 9, 0, RENEWED),
    ("Globex Corporation", HIGH, 8, 2, RENEWED),
    ("Initech", HIGH, 7, 0, RENEWED),
    ("Umbrella Health", HIGH, 5, 0, CHURNED),
    ("Soylent Foods", HIGH, 3, 0, CHURNED),
    ("Hooli", HIGH, 6, 1, CHURNED),
    ("Stark Logistics", LOW, 9, 3, RENEWED),
    ("Wayne Media", LOW, 8, 0, RENEWED),
    ("Acme Retail", LOW, 4, 0, CHURNED),
    ("Vandelay Imports", LOW, 2, 1, CHURNED),
]

ACTIVATION_NOTE = "High-touch renewals hinge on what the sponsor says: NPS counts four times, green from 60."


@pytest.fixture
def book() -> dict[str, int]:
    """Ten accounts with an NPS answer and tickets from months ago, each with a renewal or churn three weeks ago."""
    # This journey tunes the first default (v1: NPS and open tickets), as an install that kept it would: v1 is put
    # back live in place of v2 before it starts. The shipped v2 has tests of its own (test_default_scorecard).
    shipped = Scorecard.objects.active().get(tier="", stage="")
    Scorecard.objects.filter(pk=shipped.pk).update(status="retired", retired_at=timezone.now())
    Scorecard.objects.filter(lineage=shipped.lineage, version=1).update(status="active", retired_at=None)
    standard = Scorecard.objects.get(name="Standard health", version=1)
    assert standard.active, f"The first default should be live for this journey; it is {standard.status}."
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=TeamFactory(name="Enterprise"))
    AdminFactory(username="ada", first_name="Ada", last_name="Okafor")
    now = timezone.now()
    accounts = {}
    for n, (name, tier, nps, urgent_tickets, outcome) in enumerate(BOOK):
        account = AccountFactory(name=name, tier=tier, owner=csm)
        # On record and all alike: a call 70 days ago, a champion who left long ago, and a ticket closed months
        # ago (the account uses support). Every account loses the same points for them.
        TimelineEntryFactory(
            account=account, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=now - dt.timedelta(days=70)
        )
        ContactFactory(
            account=account,
            deal_role=DealRole.CHAMPION,
            departed=True,
            departed_at=timezone.localdate() - dt.timedelta(days=400),
        )
        SupportTicket.objects.create(
            account=account,
            external_id=f"ticket-{n}-closed",
            subject="Password reset",
            severity=TicketSeverity.LOW,
            opened_at=now - dt.timedelta(days=200),
            closed_at=now - dt.timedelta(days=199),
        )
        SurveyResponse.objects.create(
            account=account,
            kind=SurveyKind.NPS,
            score=nps,
            responded_at=now - dt.timedelta(days=100),
            external_id=f"nps-{n}",
        )
        for t in range(urgent_tickets):
            SupportTicket.objects.create(
                account=account,
                external_id=f"ticket-{n}-{t}",
                subject="Exports time out",
                severity=TicketSeverity.URGENT,
                opened_at=now - dt.timedelta(days=120),
            )
        OutcomeFactory(
            account=account,
            kind=outcome,
            occurred_on=timezone.localdate() - dt.timedelta(days=20),
            **({"reason": "price", "arr_after": 0} if outcome == CHURNED else {}),
        )
        accounts[name] = account.pk
    # Today's scores, as the nightly run would have left them.
    health_recompute_scope(day=timezone.localdate(), scope=AccountScope.of(list(accounts.values())), notify=False)
    return accounts


def _scored_by(page, label: str) -> None:
    """Wait until the Account 360's health panel names `label`; today's scores are recomputed by a task."""
    header = page.locator("#health-panel .card-header")

    def named() -> bool:
        if f"Scorecard: {label}" in header.inner_text():
            return True
        page.reload()
        return False

    wait_until(named, timeout=20, interval=0.5, message=f"The Account 360 never named {label}.")
    expect(header).to_contain_text(f"Scorecard: {label}")


def test_an_admin_clones_tunes_backtests_and_activates_a_scorecard(page, live_server, book):
    failures = failures_of(page)
    login(page, live_server, "ada")

    # Before: a high-touch account is scored, yellow, by the scorecard every install ships with.
    page.goto(f"{live_server.url}/accounts/{book['Northwind Traders']}/")
    _scored_by(page, "Standard health v1")
    expect(page.locator("#health-band")).to_have_text("Yellow")

    # 1. The list shows the default, live for all accounts.
    page.get_by_role("navigation").get_by_role("link", name="Scorecards").click()
    expect(page).to_have_url(f"{live_server.url}/scorecards/")
    standard_row = page.locator("#scorecards tbody tr", has_text="Standard health")
    expect(standard_row).to_contain_text("All accounts")
    expect(standard_row).to_contain_text("v1")
    screenshot(page, "scorecard-journey-1-list")

    # 2. Clone it under a name of its own; the clone opens in the draft editor.
    standard_row.get_by_role("link", name="Standard health").click()
    expect(page.locator("#scorecard-title")).to_contain_text("Standard health")
    clone_form = page.locator("#clone-form")
    expect(clone_form.get_by_label("Name")).to_have_value("Standard health (copy)")
    clone_form.get_by_label("Name").fill("High-touch health")
    clone_form.get_by_role("button", name="Clone").click()
    expect(page).to_have_url(re.compile(r"/scorecards/\d+/edit/$"))
    expect(page.get_by_text("High-touch health v1 is a draft copy of Standard health v1.")).to_be_visible()
    clone = Scorecard.objects.get(name="High-touch health")

    # 3. Give it the high-touch tier, count NPS four times, and call green from 60.
    editor = page.locator("#scorecard-form")
    expect(editor.get_by_label("Name")).to_have_value("High-touch health")
    editor.get_by_label("Description").fill("High-touch accounts: the sponsor's NPS weighs most.")
    editor.get_by_label("Tier").select_option(label="High-touch")
    nps_weight = editor.locator('tr[data-kind="nps"] input[name$="-weight"]')
    expect(nps_weight).to_have_value("1.00")
    nps_weight.fill("4")
    expect(editor.get_by_label("Green from")).to_have_value("70")
    editor.get_by_label("Green from").fill("60")
    screenshot(page, "scorecard-journey-2-editor")
    editor.get_by_role("button", name="Save draft").click()
    expect(page).to_have_url(f"{live_server.url}/scorecards/{clone.pk}/")
    expect(page.get_by_text("Saved High-touch health v1.")).to_be_visible()
    expect(page.locator("#scorecard-title")).to_contain_text("Draft")
    expect(page.get_by_text("Applies to High-touch")).to_be_visible()
    nps_row = page.locator("#measures tbody tr", has_text="NPS")
    weight_cell = nps_row.locator("td").nth(1)
    expect(weight_cell.locator("div")).to_have_text("26% of the score")
    expect(weight_cell).to_have_text(re.compile(r"^\s*4\s*26%"))
    expect(page.locator(".band-scale")).to_contain_text("Green from 60")
    screenshot(page, "scorecard-journey-3-draft")

    # 4. Preview on today's book: only the six high-touch accounts change scorecard; four change band.
    page.locator("#preview-link").click()
    expect(page.get_by_role("heading", name="Preview of High-touch health v1")).to_be_visible()
    expect(page.get_by_text("Only the 6 accounts whose scorecard would change are compared.")).to_be_visible()
    expect(page.locator("#preview-changed")).to_have_text("4")
    movers = page.locator("#preview-movers tbody tr")
    expect(movers).to_have_count(4)
    # Largest score change first: NPS counted four times lifts the promoters and sinks the detractors.
    expect(movers.locator("td:first-child")).to_have_text(
        ["Northwind Traders", "Globex Corporation", "Hooli", "Umbrella Health"]
    )
    expect(movers.first).to_contain_text("+16.1")
    expect(page.locator("#preview-bands tbody tr", has_text="Green").locator("td")).to_have_text(["Green", "0", "1"])
    expect(page.locator("#preview-movers")).not_to_contain_text("Stark Logistics")  # low-touch: not this card's
    expect(page.locator("#preview-movers")).to_contain_text("NPS")
    expect(page.locator("#preview-flags")).to_have_text("1")
    expect(page.locator("#preview-summary")).to_contain_text("Health band turned red: 1")
    screenshot(page, "scorecard-journey-4-preview")

    # 5. Backtest it against the last two years of renewals and churn, side by side with the live default.
    page.locator(".page-header").get_by_role("link", name="High-touch health v1").click()
    page.locator("#backtest-link").click()
    expect(page).to_have_url(f"{live_server.url}/backtests/new/?scorecard={clone.pk}")
    form = page.locator("#backtest-form")
    expect(form.get_by_label("Scorecard version to test")).to_have_value(str(clone.pk))
    form.get_by_label("Compare with (optional)").select_option(label="Standard health v1 (active)")
    form.get_by_label("Days ahead").fill("30, 60")
    screenshot(page, "scorecard-journey-5-backtest-form")
    form.get_by_role("button", name="Run backtest").click()

    expect(page).to_have_url(re.compile(r"/backtests/\d+/$"))
    expect(
        page.get_by_role("heading", name=re.compile(r"Backtest of High-touch health v1\s+vs\s+Standard health v1"))
    ).to_be_visible()
    # The run is a task: the report appears when it finishes (the progress bar refreshes the page).
    expect(page.locator("#horizon-30")).to_be_visible(timeout=30_000)
    expect(page.locator("#horizon-60")).to_be_visible()
    expect(page.locator("#backtest-outcomes .fs-4")).to_have_text(["10", "5", "5", "0"])
    headline = page.locator("#horizon-30 table.headline thead th")
    expect(headline).to_have_text(["", "High-touch health v1", "Standard health v1"])
    # A high-touch scorecard is judged, and compared, on the six high-touch accounts' outcomes only.
    # Counting NPS four times ranks every churn below every renewal there; the default, which counts
    # tickets as much as NPS, does not.
    for days in (30, 60):
        expect(page.locator(f"#horizon-{days} h2")).to_contain_text("6 of 10 outcomes compared (4 outside High-touch")
        auc = page.locator(f"#horizon-{days} table.headline tbody tr").first.locator("td strong")
        expect(auc).to_have_text(["1.000", "0.833"])
        expect(page.locator(f"#horizon-{days} .comparison")).to_contain_text(
            "Difference in AUC (High-touch health v1 minus Standard health v1), on the same 6 outcomes: 0.167"
        )
    screenshot(page, "scorecard-journey-6-backtest-report")
    backtest = Backtest.objects.get()
    assert (backtest.scorecard, backtest.baseline.name, backtest.state) == (clone, "Standard health", "finished")
    clone.refresh_from_db()
    assert clone.is_draft  # a backtest activates nothing

    # 6. Activate it with the reason; the tier-scoped clone sits beside the default, which stays live.
    page.locator("h1").get_by_role("link", name="High-touch health v1").click()
    flags_before = set(RedFlag.objects.values_list("account__name", "rule__kind"))
    activate = page.locator("#activate-form")
    activate.get_by_label("Why this version goes live").fill(ACTIVATION_NOTE)
    activate.get_by_role("button", name="Activate").click()
    expect(
        page.get_by_text("High-touch health v1 is live. Today's scores are being recomputed with it.")
    ).to_be_visible()
    expect(page.locator("#scorecard-title")).to_contain_text("Active")
    expect(page.locator("#versions")).to_contain_text(ACTIVATION_NOTE)
    expect(page.locator("#activate-form")).to_have_count(0)
    screenshot(page, "scorecard-journey-7-activated")

    # 7. The Account 360 of a high-touch account names the new version once today's scores are recomputed;
    # a low-touch account keeps the default.
    page.goto(f"{live_server.url}/accounts/{book['Northwind Traders']}/")
    _scored_by(page, "High-touch health v1")
    expect(page.locator("#health-band")).to_have_text("Green")  # 70.6, where the default gave it 54.5
    screenshot(page, "scorecard-journey-8-account-360")
    page.goto(f"{live_server.url}/accounts/{book['Wayne Media']}/")
    _scored_by(page, "Standard health v1")
    # The one flag the preview promised, and no other: Umbrella Health turned red.
    flags_after = set(RedFlag.objects.values_list("account__name", "rule__kind"))
    assert flags_after - flags_before == {("Umbrella Health", "band_red")}

    # 8. A second plain clone of the default claims all accounts, which the default still holds: refused, said why.
    page.get_by_role("navigation").get_by_role("link", name="Scorecards").click()
    page.locator("#scorecards tbody tr", has_text="Standard health").get_by_role("link", name="Standard health").click()
    page.locator("#clone-form").get_by_role("button", name="Clone").click()
    expect(page.get_by_text("Standard health (copy) v1 is a draft copy of Standard health v1.")).to_be_visible()
    copy = Scorecard.objects.get(name="Standard health (copy)")
    page.locator("#scorecard-form").get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{live_server.url}/scorecards/{copy.pk}/")
    activate = page.locator("#activate-form")
    activate.get_by_label("Why this version goes live").fill("Trying the copy on everyone.")
    activate.get_by_role("button", name="Activate").click()
    expect(activate.locator(".alert-danger")).to_contain_text(
        "Standard health v1 is already active for All accounts. Two scorecards cannot both claim the same accounts"
    )
    expect(page.locator("#scorecard-title")).to_contain_text("Draft")
    expect(activate.get_by_label("Why this version goes live")).to_have_value("Trying the copy on everyone.")
    screenshot(page, "scorecard-journey-9-scope-refused")

    copy.refresh_from_db()
    clone.refresh_from_db()
    assert copy.is_draft and clone.active and clone.activation_note == ACTIVATION_NOTE
    assert clone.tier == HIGH and Scorecard.objects.active().get(tier="", stage="").name == "Standard health"
    # Every high-touch account's current health came from the clone, every other account's from the default.
    by_scorecard = dict(AccountHealth.objects.values_list("account__name", "scorecard__name"))
    assert by_scorecard == {name: "High-touch health" if tier == HIGH else "Standard health" for name, tier, *_ in BOOK}
    # The one answer at or above 400 is the 422 that refused the second activation.
    assert failures == [f"{live_server.url}/scorecards/{copy.pk}/activate/"]
