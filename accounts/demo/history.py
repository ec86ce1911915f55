"""What happened so far: months of timeline per account.

The stage history (StageChange rows and their system events) is lifecycle's
part: `lifecycle/stages/demo.py`.
"""

from __future__ import annotations

import datetime as dt
import random

from accounts.models import (
    Account,
    Contact,
    DealRole,
    Industry,
    Sentiment,
    Stage,
    Tier,
    TimelineEntry,
    TimelineKind,
)
from users.models import User

from . import outcomes, words
from .book import at_work_hours
from .core import AccountPlan, DemoBatch, DemoCompany, demo_seeder

HISTORY_DAYS = 270
# At demo sizes the timeline goes back as far as the signals (two years of outcomes and the
# 90 days before the oldest), so a score taken before a past renewal sees the touchpoints of then.
LONG_HISTORY_DAYS = 850
# Touchpoints per 30 days of history, by tier: high-touch has a fortnightly call.
TOUCHPOINT_RATE = {Tier.HIGH_TOUCH: 2.2, Tier.LOW_TOUCH: 0.9, Tier.TECH_TOUCH: 0.35}
CHANNEL_WEIGHTS = {
    Tier.HIGH_TOUCH: {"call": 35, "meeting": 25, "email": 20, "chat": 12, "qbr": 8},
    Tier.LOW_TOUCH: {"call": 35, "email": 35, "chat": 20, "meeting": 7, "qbr": 3},
    Tier.TECH_TOUCH: {"email": 80, "chat": 15, "call": 5},
}
TOUCHPOINT_SENTIMENT = {
    Stage.AT_RISK: {Sentiment.NEGATIVE: 4, Sentiment.NEUTRAL: 3, Sentiment.POSITIVE: 1},
    Stage.CHURNED: {Sentiment.NEGATIVE: 5, Sentiment.NEUTRAL: 3, Sentiment.POSITIVE: 1},
}
DEFAULT_TOUCHPOINT_SENTIMENT = {
    Sentiment.POSITIVE: 5,
    Sentiment.NEUTRAL: 4,
    Sentiment.NEGATIVE: 1,
}


@demo_seeder("timeline", order=30)
def seed_timeline(company: DemoCompany, batch: DemoBatch) -> None:
    """Touchpoints with participants, internal notes and risk tags over the last months."""
    rng = batch.rng("timeline")
    authors = _authors_by_team(company)
    entries: list[TimelineEntry] = []
    participants: list[list[Contact]] = []
    for account in batch.accounts:
        writer = _AccountStory(
            rng,
            company,
            account,
            batch.plans[account.pk],
            batch.contacts[account.pk],
            authors,
        )
        for entry, people in writer.entries():
            entries.append(entry)
            participants.append(people)
    company.bulk_create(TimelineEntry, entries)
    through = TimelineEntry.participants.through
    links = [
        through(timelineentry_id=entry.pk, contact_id=contact.pk)
        for entry, people in zip(entries, participants, strict=True)
        for contact in people
    ]
    company.bulk_create(through, links)


def _authors_by_team(company: DemoCompany) -> dict[int, list[User]]:
    by_team: dict[int, list[User]] = {}
    for csm in company.csms:
        by_team.setdefault(csm.team_id, []).append(csm)
    return by_team


class _AccountStory:
    def __init__(
        self,
        rng: random.Random,
        company: DemoCompany,
        account: Account,
        plan: AccountPlan,
        contacts: list[Contact],
        authors: dict[int, list[User]],
    ) -> None:
        self.rng, self.company, self.account, self.plan, self.contacts = (
            rng,
            company,
            account,
            plan,
            contacts,
        )
        self.authors = [account.owner] if account.owner_id else authors.get(account.pool_id, [])
        days = LONG_HISTORY_DAYS if company.signal_history else HISTORY_DAYS
        self.start = max(plan.customer_since, company.today - dt.timedelta(days=days))
        # Up to yesterday, so no entry lands later today than "now".
        yesterday = company.today - dt.timedelta(days=1)
        self.end = plan.path[-1][1].date() if account.stage == Stage.CHURNED else yesterday
        self.window = max((self.end - self.start).days, 1)
        champion = next((c for c in contacts if c.deal_role == DealRole.CHAMPION), contacts[-1])
        decision_maker = next((c for c in contacts if c.deal_role == DealRole.DECISION_MAKER), contacts[0])
        self.openers: list[str] = []  # drawn without repeats until exhausted
        self.names = {
            "champion": champion.first_name,
            "decision_maker": f"{decision_maker.first_name} ({decision_maker.title})",
            "team": self.rng.choice(words.WHY_TEAMS),
            "industry": Industry(account.industry).label.lower(),
        }

    def entries(self) -> list[tuple[TimelineEntry, list[Contact]]]:
        return [*self._touchpoints(), *self._notes(), *self._risks()]

    def _entry(self, day: dt.date, **fields) -> TimelineEntry:
        author_id = self.rng.choice(self.authors).pk if self.authors else None
        return TimelineEntry(
            account_id=self.account.pk,
            occurred_at=at_work_hours(self.rng, day),
            author_id=author_id,
            **fields,
        )

    def _day(self, low: int = 0) -> dt.date:
        return self.start + dt.timedelta(days=self.rng.randint(min(low, self.window), self.window))

    def _touchpoints(self) -> list[tuple[TimelineEntry, list[Contact]]]:
        rng, account = self.rng, self.account
        expected = TOUCHPOINT_RATE[account.tier] * self.window / 30 * self.company.detail * rng.uniform(0.7, 1.3)
        count = max(round(expected), 0 if account.tier == Tier.TECH_TOUCH else 1)
        channels = CHANNEL_WEIGHTS[account.tier]
        sentiments = TOUCHPOINT_SENTIMENT.get(account.stage, DEFAULT_TOUCHPOINT_SENTIMENT)
        days = [self._day() for _ in range(count)]
        if self.plan.customer_since >= self.start and account.tier != Tier.TECH_TOUCH and rng.random() < 0.85:
            # Most new customers get their kick-off within the first two weeks
            # (a few do not: that is what the onboarding checks are for).
            days.append(self.plan.customer_since + dt.timedelta(days=rng.randint(2, 10)))
        touchpoints = []
        for day in days:
            day = min(day, self.end)
            if not self._kept(day):
                continue
            kick_off = day <= self.plan.customer_since + dt.timedelta(days=10)
            channel = "meeting" if kick_off else rng.choices(list(channels), weights=list(channels.values()))[0]
            entry = self._entry(
                day,
                kind=TimelineKind.TOUCHPOINT,
                channel=channel,
                summary=words.KICK_OFF if kick_off else self._summary(channel, day),
                body=self._touchpoint_body() if rng.random() < 0.65 else "",
                sentiment=rng.choices(list(sentiments), weights=list(sentiments.values()))[0],
            )
            present = [c for c in self.contacts if not c.departed or c.departed_at > day]
            people = rng.sample(present, min(len(present), rng.choice([1, 1, 2, 2, 3]))) if present else []
            touchpoints.append((entry, people))
        return touchpoints

    def _kept(self, day: dt.date) -> bool:
        """Whether a touchpoint happened: in the months before a past outcome, the churn model skips some."""
        for term in self.plan.term_ends or []:
            if term.drivers is not None and 0 < (term.occurred_on - day).days <= outcomes.CALLS_KEPT_DAYS:
                return self.rng.random() < outcomes.calls_kept_share(term.drivers)
        return True

    def _summary(self, channel: str, day: dt.date) -> str:
        summaries = words.TOUCHPOINT_SUMMARIES[channel]
        renewal = self.account.renewal_date
        if renewal is None or not 0 <= (renewal - day).days <= 120:
            # Renewal talk only in the months before a renewal.
            summaries = [s for s in summaries if "renew" not in s.lower()]
        return self.rng.choice(summaries)

    def _touchpoint_body(self) -> str:
        if not self.openers:
            self.openers = self.rng.sample(words.TOUCHPOINT_OPENERS, len(words.TOUCHPOINT_OPENERS))
        text = f"{self.openers.pop()} {self.rng.choice(words.TOUCHPOINT_NEXT_STEPS)}"
        return text.strip().format(**self.names)

    def _notes(self) -> list[tuple[TimelineEntry, list[Contact]]]:
        rng = self.rng
        count = rng.choice([0, 1, 1, 2, 3]) if self.account.tier != Tier.TECH_TOUCH else rng.choice([0, 0, 1])
        if self.company.detail < 1:
            count = min(count, 1)
        notes = []
        for title, text in rng.sample(words.NOTES, count):
            entry = self._entry(
                self._day(),
                kind=TimelineKind.NOTE,
                summary=title,
                body=text.format(**self.names),
            )
            notes.append((entry, []))
        return notes

    def _risks(self) -> list[tuple[TimelineEntry, list[Contact]]]:
        rng, stage = self.rng, self.account.stage
        risks = []
        for contact in self.contacts:
            if contact.departed and contact.deal_role == DealRole.CHAMPION:
                entry = self._entry(
                    contact.departed_at,
                    kind=TimelineKind.RISK,
                    risk_tag="champion_left",
                    summary=f"Champion {contact.full_name} has left {self.account.name}",
                    body="Need a new champion; ask the decision maker who owns the rollout now.",
                )
                risks.append((entry, [contact]))
        if stage in (Stage.AT_RISK, Stage.CHURNED):
            count = rng.choice([1, 1, 2])
        else:
            count = 1 if rng.random() < 0.06 else 0
        at_risk_from = next(
            (entered.date() for s, entered in self.plan.path if s == Stage.AT_RISK),
            None,
        )
        for tag, summary in rng.sample(words.RISKS, count):
            low = max((at_risk_from - dt.timedelta(days=20) - self.start).days, 0) if at_risk_from else 0
            entry = self._entry(
                min(self._day(low), self.end),
                kind=TimelineKind.RISK,
                risk_tag=tag,
                summary=summary,
            )
            risks.append((entry, []))
        return risks
