"""The book of business: accounts, their coverage, contract dates and stage path."""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
from collections import Counter
from decimal import Decimal

from accounts.models import Account, Coverage, EmployeeBand, Industry, Region, Stage, Tag, Tier
from users.models import User

from . import words
from .core import AccountPlan, DemoBatch, DemoCompany
from .staff import ENTERPRISE, HANDOVER_CSM, MID_MARKET

# About one account in nine has churned within the last two years, so a demo of 300
# accounts has a few dozen churns for a backtest to check health scores against.
STAGE_WEIGHTS = {
    Stage.ONBOARDING: 15,
    Stage.ADOPTION: 30,
    Stage.SUCCESS: 40,
    Stage.AT_RISK: 10,
    Stage.CHURNED: 12,
}
# Churned accounts left at a renewal up to this many days ago (the window a backtest looks at).
CHURNED_WITHIN_DAYS = 700
TIER_WEIGHTS = {Tier.HIGH_TOUCH: 20, Tier.LOW_TOUCH: 38, Tier.TECH_TOUCH: 42}
# The demo company knows every customer's industry; Unknown is for imports from systems that never recorded it.
KNOWN_INDUSTRIES = [value for value in Industry.values if value != Industry.UNKNOWN]
REGION_WEIGHTS = {
    Region.NORTH_AMERICA: 40,
    Region.EMEA: 35,
    Region.APAC: 15,
    Region.LATAM: 10,
}
ARR_RANGE = {
    Tier.HIGH_TOUCH: (80_000, 600_000),
    Tier.LOW_TOUCH: (15_000, 80_000),
    Tier.TECH_TOUCH: (2_000, 15_000),
}
TERM_MONTHS = {
    Tier.HIGH_TOUCH: [12, 12, 24, 36],
    Tier.LOW_TOUCH: [12, 12, 12, 24],
    Tier.TECH_TOUCH: [12],
}
EMPLOYEE_BANDS = {
    Tier.HIGH_TOUCH: [
        EmployeeBand.MEDIUM,
        EmployeeBand.LARGE,
        EmployeeBand.LARGE,
        EmployeeBand.ENTERPRISE,
    ],
    Tier.LOW_TOUCH: [
        EmployeeBand.SMALL,
        EmployeeBand.MEDIUM,
        EmployeeBand.MEDIUM,
        EmployeeBand.LARGE,
    ],
    Tier.TECH_TOUCH: [EmployeeBand.MICRO, EmployeeBand.MICRO, EmployeeBand.SMALL],
}
FISCAL_MONTHS = [1] * 10 + [4] * 4 + [7] * 3 + [10] * 2 + [2, 3, 5, 6, 8, 9, 11, 12]
# Typical days spent in a stage before moving on (min, max).
STAGE_DAYS = {
    Stage.ONBOARDING: (30, 100),
    Stage.ADOPTION: (60, 200),
    Stage.SUCCESS: (120, 400),
    Stage.AT_RISK: (30, 120),
}


def create_tags(company: DemoCompany) -> None:
    company.tags = company.bulk_create(Tag, [Tag(name=name) for name in words.TAG_NAMES])


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def at_work_hours(rng: random.Random, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.choice([0, 15, 30, 45])), tzinfo=dt.UTC)


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class AccountPlanner:
    """Decides every account's facts; the same seed always makes the same book."""

    def __init__(self, company: DemoCompany) -> None:
        self.company = company
        self.rng = company.rng("accounts")
        self.used_names: set[str] = set()
        self.used_domains: set[str] = set()
        # Books are balanced by a share per CSM; the handover CSM carries about
        # twice a colleague's book (~40 accounts at demo size).
        self.csms_by_team: dict[int, list[User]] = {
            team.pk: [csm for csm in company.csms if csm.team_id == team.pk] for team in company.teams.values()
        }
        self.book_share = {csm.pk: 1.8 if csm.username == HANDOVER_CSM else 1.0 for csm in company.csms}
        self.book_size: Counter[int] = Counter()

    def create_batch(self, index: int, size: int) -> DemoBatch:
        accounts, plans = [], []
        for _ in range(size):
            account, plan = self._plan_account()
            accounts.append(account)
            plans.append(plan)
        self.company.bulk_create(Account, accounts)
        batch = DemoBatch(
            index=index,
            seed=self.company.seed,
            accounts=accounts,
            plans={account.pk: plan for account, plan in zip(accounts, plans, strict=True)},
        )
        self._tag(batch)
        return batch

    def _plan_account(self) -> tuple[Account, AccountPlan]:
        rng = self.rng
        industry = rng.choice(KNOWN_INDUSTRIES)
        region = _pick(rng, REGION_WEIGHTS)
        tier = _pick(rng, TIER_WEIGHTS)
        stage = _pick(rng, STAGE_WEIGHTS)
        name = self._name(industry)
        low, high = ARR_RANGE[tier]
        # Skewed towards the bottom of the range, as real books are.
        arr = round(low * (high / low) ** (rng.random() ** 1.6), -2)
        contract_start, renewal_date, plan = self._dates(stage, tier)
        account = Account(
            name=name,
            domain=self._domain(name, region),
            industry=industry,
            region=region,
            employee_band=rng.choice(EMPLOYEE_BANDS[tier]),
            arr=Decimal(arr).quantize(Decimal("1.00")),
            currency=rng.choice(words.REGION_CURRENCIES[region]),
            contract_start=contract_start,
            renewal_date=renewal_date,
            fiscal_year_start_month=rng.choice(FISCAL_MONTHS),
            tier=tier,
            stage=stage,
            stage_entered_at=plan.path[-1][1],
            why_they_bought=self._why_they_bought(industry),
            tech_stack_notes=rng.choice(words.TECH_STACK_NOTES).format(
                **{kind: rng.choice(tools) for kind, tools in words.TECH_TOOLS.items()}
            ),
        )
        self._cover(account)
        return account, plan

    def _name(self, industry: str) -> str:
        rng = self.rng
        for attempt in range(50):
            stem = rng.choice(words.NAME_STEMS)
            tail = rng.choice(words.NAME_TAILS) if rng.random() < 0.7 else ""
            noun = rng.choice(words.INDUSTRY_NOUNS[industry])
            name = f"{stem}{tail} {noun}"
            if attempt > 20:
                name = f"{name} {rng.choice(['Group', 'Holdings', 'International', 'Co-op', 'Network'])}"
            if name not in self.used_names:
                break
        else:
            name = f"{name} {len(self.used_names)}"
        self.used_names.add(name)
        return name

    def _domain(self, name: str, region: str) -> str:
        stem = re.sub(r"[^a-z0-9]+", "", name.lower().replace("&", "and"))
        tld = self.rng.choice(words.REGION_TLDS[region])
        domain, suffix = f"{stem}.{tld}", 2
        while domain in self.used_domains:
            domain, suffix = f"{stem}{suffix}.{tld}", suffix + 1
        self.used_domains.add(domain)
        return domain

    def _why_they_bought(self, industry: str) -> str:
        rng = self.rng
        return rng.choice(words.WHY_THEY_BOUGHT).format(
            team=rng.choice(words.WHY_TEAMS),
            metric=rng.choice(words.WHY_METRICS),
            feature=rng.choice(words.WHY_FEATURES),
            tool=rng.choice(words.TECH_TOOLS["crm"] + words.TECH_TOOLS["warehouse"]),
            role=rng.choice(words.WHY_ROLES),
            deadline=rng.choice(words.WHY_DEADLINES),
            industry=Industry(industry).label.lower(),
        )

    def _cover(self, account: Account) -> None:
        """Tech-touch mostly goes to a team's pool; everyone else has a named CSM."""
        rng = self.rng
        enterprise, mid_market = (
            self.company.teams[ENTERPRISE],
            self.company.teams[MID_MARKET],
        )
        if account.tier == Tier.TECH_TOUCH:
            pooled, team = (
                rng.random() < 0.85,
                mid_market if rng.random() < 0.75 else enterprise,
            )
            if not pooled:
                team = mid_market
        elif account.tier == Tier.HIGH_TOUCH:
            pooled, team = False, enterprise if rng.random() < 0.85 else mid_market
        else:
            pooled, team = (
                rng.random() < 0.03,
                mid_market if rng.random() < 0.7 else enterprise,
            )
        if pooled:
            account.coverage, account.pool = Coverage.POOLED, team
        else:
            owner = min(
                self.csms_by_team[team.pk],
                key=lambda csm: (
                    (self.book_size[csm.pk] + 1) / self.book_share[csm.pk],
                    csm.pk,
                ),
            )
            self.book_size[owner.pk] += 1
            account.coverage, account.owner = Coverage.ASSIGNED, owner

    def _dates(self, stage: str, tier: str) -> tuple[dt.date, dt.date, AccountPlan]:
        """Contract term, renewal and a stage path that ends in `stage` and fits before today."""
        rng, today = self.rng, self.company.today
        term = rng.choice(TERM_MONTHS[tier])
        if stage == Stage.ONBOARDING:
            start = today - dt.timedelta(days=rng.randint(3, 80))
            path = [(Stage.ONBOARDING, start)]
            return start, add_months(start, term), AccountPlan(start, self._timed(path))
        if stage == Stage.ADOPTION:
            # Still in the first contract term: adoption is a matter of months, not years.
            start = today - dt.timedelta(days=rng.randint(45, 330))
            path = self._fit(rng, [Stage.ONBOARDING, Stage.ADOPTION], start, None)
            return start, add_months(start, term), AccountPlan(start, self._timed(path))
        if stage == Stage.CHURNED:
            # Churned at a renewal that has passed; at risk for a while before.
            renewal = today - dt.timedelta(days=rng.randint(10, CHURNED_WITHIN_DAYS))
            at_risk_from = renewal - dt.timedelta(days=rng.randint(30, 120))
            last_entered, stages = renewal, self._risk_path(rng) + [Stage.CHURNED]
            latest_since = at_risk_from - dt.timedelta(days=100)
        else:
            # A good share renews in the next 30–120 days: that is the work queue.
            roll = rng.random()
            days = rng.randint(30, 120) if roll < 0.35 else rng.randint(0, 29) if roll < 0.45 else rng.randint(121, 360)
            renewal = today + dt.timedelta(days=days)
            if stage == Stage.AT_RISK:
                stages = self._risk_path(rng)
                last_entered = today - dt.timedelta(days=rng.randint(5, 120))
                latest_since = last_entered - dt.timedelta(days=100)
            else:
                stages, last_entered = (
                    [Stage.ONBOARDING, Stage.ADOPTION, Stage.SUCCESS],
                    None,
                )
                latest_since = today - dt.timedelta(days=150)
        start = add_months(renewal, -term)
        # Long-standing customers have renewed before: their history starts whole terms earlier.
        since = add_months(start, -12 * rng.choice([0, 0, 1, 1, 2, 3]))
        while since > latest_since:
            since = add_months(since, -12)
        path = self._fit(rng, stages, since, last_entered)
        plan = AccountPlan(
            since,
            self._timed(path),
            champion_departs=stage in (Stage.AT_RISK, Stage.CHURNED) and rng.random() < 0.35,
        )
        return start, renewal, plan

    @staticmethod
    def _risk_path(rng: random.Random) -> list[str]:
        head = [Stage.ONBOARDING, Stage.ADOPTION]
        return head + ([Stage.SUCCESS] if rng.random() < 0.7 else []) + [Stage.AT_RISK]

    def _fit(
        self,
        rng: random.Random,
        stages: list[str],
        since: dt.date,
        last_entered: dt.date | None,
    ) -> list[tuple[str, dt.date]]:
        """Space the stages out from `since` with typical durations.

        With a fixed `last_entered` the stage before it stretches to fill the
        gap; otherwise the path ends where the durations take it. Either way
        everything is squeezed to fit if the typical durations do not.
        """
        today = self.company.today
        durations = [rng.randint(*STAGE_DAYS[stage]) for stage in stages[:-1]]
        end = last_entered or min(since + dt.timedelta(days=sum(durations)), today - dt.timedelta(days=2))
        span = (end - since).days
        if sum(durations) > span or last_entered is not None and durations:
            if sum(durations) > span:
                durations = [max(1, duration * span // sum(durations)) for duration in durations]
            durations[-1] = max(1, span - sum(durations[:-1]))
        path, day = [(stages[0], since)], since
        for stage, duration in zip(stages[1:], durations, strict=True):
            day += dt.timedelta(days=duration)
            path.append((stage, day))
        return path

    def _timed(self, path: list[tuple[str, dt.date]]) -> list[tuple[str, dt.datetime]]:
        return [(stage, at_work_hours(self.rng, day)) for stage, day in path]

    def _tag(self, batch: DemoBatch) -> None:
        rng = batch.rng("tags")
        through = Account.tags.through
        links = [
            through(account_id=account.pk, tag_id=tag.pk)
            for account in batch.accounts
            for tag in rng.sample(self.company.tags, rng.choice([0, 0, 1, 1, 1, 2, 3]))
        ]
        self.company.bulk_create(through, links)
