"""Customer contacts with an org chart, deal roles and a few people who left."""

from __future__ import annotations

import datetime as dt
import random

from accounts.models import (
    Account,
    Contact,
    DealRole,
    Influence,
    Region,
    Sentiment,
    Stage,
    Tier,
)

from . import outcomes, words
from .core import AccountPlan, DemoBatch, DemoCompany, TermEnd, demo_seeder

CONTACTS_PER_TIER = {
    Tier.HIGH_TOUCH: (5, 8),
    Tier.LOW_TOUCH: (3, 6),
    Tier.TECH_TOUCH: (3, 4),
}
INFLUENCE_BY_LEVEL = [
    [Influence.HIGH],
    [Influence.HIGH, Influence.MEDIUM, Influence.MEDIUM],
    [Influence.MEDIUM, Influence.LOW],
    [Influence.LOW, Influence.LOW, Influence.MEDIUM],
]
SENTIMENT_BY_STAGE = {
    Stage.ONBOARDING: {
        Sentiment.POSITIVE: 5,
        Sentiment.NEUTRAL: 3,
        Sentiment.UNKNOWN: 4,
        Sentiment.NEGATIVE: 1,
    },
    Stage.ADOPTION: {
        Sentiment.POSITIVE: 5,
        Sentiment.NEUTRAL: 4,
        Sentiment.UNKNOWN: 2,
        Sentiment.NEGATIVE: 1,
    },
    Stage.SUCCESS: {
        Sentiment.POSITIVE: 7,
        Sentiment.NEUTRAL: 3,
        Sentiment.UNKNOWN: 1,
        Sentiment.NEGATIVE: 1,
    },
    Stage.AT_RISK: {
        Sentiment.POSITIVE: 2,
        Sentiment.NEUTRAL: 3,
        Sentiment.UNKNOWN: 1,
        Sentiment.NEGATIVE: 4,
    },
    Stage.CHURNED: {
        Sentiment.POSITIVE: 1,
        Sentiment.NEUTRAL: 3,
        Sentiment.UNKNOWN: 2,
        Sentiment.NEGATIVE: 5,
    },
}
PHONE_PREFIX = {
    Region.NORTH_AMERICA: "+1 415",
    Region.EMEA: "+44 20",
    Region.APAC: "+61 2",
    Region.LATAM: "+55 11",
}
MAX_DEPTH = len(words.TITLES_BY_LEVEL) - 1


@demo_seeder("contacts", order=10)
def seed_contacts(company: DemoCompany, batch: DemoBatch) -> None:
    rng = batch.rng("contacts")
    by_level: list[list[Contact]] = [[] for _ in range(MAX_DEPTH + 1)]
    parents: dict[int, Contact] = {}
    # The churn model says whose champion left before a past renewal or churn.
    term_ends = outcomes.term_ends(company, batch)
    for account in batch.accounts:
        lost = next((term for term in term_ends[account.pk] if term.drivers and term.drivers.champion_lost), None)
        for level, contact, parent in _org_chart(rng, company, account, batch.plans[account.pk], lost):
            by_level[level].append(contact)
            if parent is not None:
                parents[id(contact)] = parent
            batch.contacts[account.pk].append(contact)
    # Managers first, so each level can point at rows that already have ids.
    for level_contacts in by_level:
        for contact in level_contacts:
            parent = parents.get(id(contact))
            contact.reports_to_id = parent.pk if parent else None
        company.bulk_create(Contact, level_contacts)


def _org_chart(
    rng: random.Random, company: DemoCompany, account: Account, plan: AccountPlan, lost: TermEnd | None
) -> list[tuple[int, Contact, Contact | None]]:
    low, high = CONTACTS_PER_TIER[account.tier]
    if company.detail < 1:
        low, high = 3, max(3, high - 3)
    size = rng.randint(low, high)
    people: list[tuple[int, Contact, Contact | None]] = []
    emails: set[str] = set()
    sentiments = SENTIMENT_BY_STAGE[account.stage]
    for index in range(size):
        if index == 0:
            level, parent = 0, None
        else:
            # Shallow trees are the norm: most people report to someone near the top.
            candidates = [(lvl, person) for lvl, person, _ in people if lvl < MAX_DEPTH]
            weights = [4 if lvl == 0 else 3 if lvl == 1 else 1 for lvl, _ in candidates]
            parent_level, parent = rng.choices(candidates, weights=weights)[0]
            level = parent_level + 1
        first, last = _unique_name(rng, emails, account.domain)
        contact = Contact(
            account_id=account.pk,
            first_name=first,
            last_name=last,
            title=rng.choice(words.TITLES_BY_LEVEL[level]),
            email=f"{first}.{last}@{account.domain}".lower(),
            phone=f"{PHONE_PREFIX[account.region]} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
            if rng.random() < 0.7
            else "",
            chat_handle=f"@{first.lower()}.{last[0].lower()}" if rng.random() < 0.4 else "",
            influence=rng.choice(INFLUENCE_BY_LEVEL[level]),
            sentiment=rng.choices(list(sentiments), weights=list(sentiments.values()))[0],
            last_verified_at=None
            if rng.random() < 0.08
            else company.now - dt.timedelta(days=rng.randint(0, 365), hours=rng.randint(0, 23)),
        )
        people.append((level, contact, parent))
    _assign_deal_roles(
        rng,
        company,
        [person for _, person, _ in people],
        [lvl for lvl, _, _ in people],
        plan,
        lost,
    )
    return people


def _unique_name(rng: random.Random, emails: set[str], domain: str) -> tuple[str, str]:
    while True:
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        email = f"{first}.{last}@{domain}".lower()
        if email not in emails:
            emails.add(email)
            return first, last


def _assign_deal_roles(
    rng: random.Random,
    company: DemoCompany,
    people: list[Contact],
    levels: list[int],
    plan: AccountPlan,
    lost: TermEnd | None,
) -> None:
    """Usually a decision maker at the top and a champion below; some accounts lack either."""
    top, below = people[0], people[1:]
    if rng.random() < 0.9:
        top.deal_role = DealRole.DECISION_MAKER
    champion = None
    if below and rng.random() < 0.85:
        champion = rng.choice([person for person, level in zip(below, levels[1:], strict=True) if level <= 2])
        champion.deal_role = DealRole.CHAMPION
    others = [person for person in below if not person.deal_role]
    if len(others) >= 3 and rng.random() < 0.4:
        buyer = others.pop(0)
        buyer.deal_role = DealRole.ECONOMIC_BUYER
    if others and rng.random() < 0.15:
        detractor = others.pop()
        detractor.deal_role, detractor.sentiment = (
            DealRole.DETRACTOR,
            Sentiment.NEGATIVE,
        )
    for person in others:
        if rng.random() < 0.6:
            person.deal_role = DealRole.USER
    modelled_churn = any(term.churned and term.drivers for term in plan.term_ends or [])
    if champion is not None and lost is not None:
        # Lost in a past term: a few weeks to half a year before its renewal or churn, so some
        # of the scores taken 30, 60 and 90 days before the outcome see it and some do not.
        left = lost.occurred_on - dt.timedelta(days=rng.randint(40, 200))
        _depart(company, champion, max(left, lost.term_start + dt.timedelta(days=1)))
    elif champion is not None and plan.champion_departs and not modelled_churn:
        # The champion leaving is what tipped the account into risk.
        at_risk_from = next(entered for stage, entered in plan.path if stage == Stage.AT_RISK)
        _depart(
            company,
            champion,
            at_risk_from.date() - dt.timedelta(days=rng.randint(3, 20)),
        )
    for person in below:
        if person is not champion and rng.random() < 0.05:
            _depart(company, person, company.today - dt.timedelta(days=rng.randint(10, 300)))


def _depart(company: DemoCompany, person: Contact, around: dt.date) -> None:
    person.departed = True
    person.departed_at = min(around, company.today)
