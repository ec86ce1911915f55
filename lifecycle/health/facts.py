"""Per-account facts for one day, read set-based from the signal tables.

Scoring (lifecycle.health.scoring) and red-flag rules (lifecycle.flags.rules) both work
from these plain values, so each signal table is aggregated once per run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class AccountFacts:
    account_id: int
    tier: str
    stage: str
    owner_id: int | None
    pool_id: int | None
    stage_entered_on: dt.date
    contract_start: dt.date | None
    renewal_date: dt.date | None
    arr: float = 0.0
    # usage: daily averages of active users, and the latest licence counts
    usage_last_day: dt.date | None = None
    active_users_7d: float | None = None
    active_users_prev28: float | None = None
    licences_used: int | None = None
    licences_owned: int | None = None
    # The usage feed: the latest day any account has usage for, up to the day (None: Baton has no usage at
    # all). The usage level and trend windows end on it, so a feed a day behind is not a fall in use, and a
    # day without a row for the account inside them counts as no use.
    usage_feed_day: dt.date | None = None
    # usage level: the 28 days' totals up to the feed's day (0 without rows) and the licences on the latest
    # usage row of the last year (None when there is none: the account sent no usage in a year)
    active_user_days_28d: int = 0
    key_events_28d: int = 0
    usage_licences_owned: int | None = None
    # usage trend: totals of the last 7 days up to the feed's day, and of the 28 days before them
    active_user_days_7d: int = 0
    active_user_days_prev28: int = 0
    key_events_7d: int = 0
    key_events_prev28: int = 0
    # products: seats and products of the entitlements in force on the day, and how many of those products
    # had activity in the 28 days up to the product feed's latest day
    entitled_seats: int | None = None
    products_entitled: int = 0
    products_used: int = 0
    product_feed_day: dt.date | None = None
    # engagement
    last_touchpoint_at: dt.datetime | None = None
    touchpoints_since_onboarding: int = 0
    last_checkin_at: dt.datetime | None = None
    checkins_90d: int = 0
    last_checkin_concerns: int | None = None
    cadence_days: int | None = None
    # support
    last_ticket_at: dt.datetime | None = None
    open_ticket_weight: int = 0
    tickets_opened_7d: int = 0
    tickets_opened_prev28: int = 0
    # Tickets opened in the last 90 days, closed or not, weighted by severity, plus an hour of support time a point.
    ticket_weight_90d: int = 0
    tickets_known: bool = False  # a ticket opened in the last year, or one still open: the account uses support
    # voice of the customer
    last_nps: int | None = None
    last_nps_at: dt.datetime | None = None
    last_nps_comment: str = ""
    last_csat: int | None = None
    last_csat_at: dt.datetime | None = None
    stakeholders_recorded: bool = False  # anyone ever recorded as champion or decision maker
    champion_known: bool = False
    decision_maker_known: bool = False
    champion_departed_on: dt.date | None = None
    pulse_rating: int | None = None
    pulse_rated_at: dt.datetime | None = None
    pulse_expired: bool = False
    # money
    spend_recent_90d: Decimal = Decimal("0")
    spend_previous_90d: Decimal = Decimal("0")
    last_invoice_on: dt.date | None = None
    # tenure: the earliest contract start on the account's terms known by the day, else its own contract start
    customer_since: dt.date | None = None
    # The day the account came into Baton (created or imported): no rule counts silence from before it.
    in_baton_since: dt.date | None = None
    # health (filled in by the recompute before rules run)
    open_flags: int = 0
    score: float | None = None
    band: str = ""
    score_7d_ago: float | None = None
    band_yesterday: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def onboarding_started_on(self) -> dt.date:
        return self.contract_start or self.stage_entered_on
