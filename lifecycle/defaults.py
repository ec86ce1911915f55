"""What a team gets on day one: a scorecard, alert rules, check-in questions, cadences.

Used by the data migration and by tests; admins change all of it afterwards.
"""

from __future__ import annotations

DEFAULT_SCORECARD = {
    "name": "Standard health",
    "description": "Applies to every account unless a tier- or stage-specific scorecard exists.",
    "green_min": 70,
    "yellow_min": 40,
}

# kind: (weight, zero_at, full_at, validity_days)
DEFAULT_MEASURES = {
    "usage_trend": (2, -50, 10, 7),
    "licence_utilisation": (1.5, 20, 85, 14),
    "engagement_recency": (1.5, 60, 7, 365),
    "checkin_cadence": (1, 0, 100, 90),
    "support_burden": (1, 12, 0, 90),
    "nps": (1, 3, 9, 180),
    "open_red_flags": (1, 4, 0, 1),
    "stakeholder_coverage": (1, 0, 100, 3650),
    "csm_pulse": (1.5, 1, 6, 90),
    "checkin_concerns": (1, 3, 0, 30),
}

DEFAULT_RULES = [
    # name, kind, severity, params[, tier]  (tech-touch accounts are served by automated
    # outreach, so silence there is not news: the no-touchpoint rules are per tier)
    ("Health band turned red", "band_red", "high", {}),
    ("Score fell 15+ points in a week", "score_drop", "high", {"points": 15}),
    ("No touchpoint in 30 days (high-touch)", "no_touchpoint", "medium", {"days": 30}, "high"),
    ("No touchpoint in 60 days (low-touch)", "no_touchpoint", "medium", {"days": 60}, "low"),
    ("Missed check-in cadence", "missed_checkin", "medium", {}),
    (
        "Onboarding not engaged",
        "onboarding_not_engaged",
        "high",
        {"checkpoints": [30, 60, 90], "min_touchpoints": 2, "min_active_users": 3},
    ),
    ("Usage down 30% vs previous 4 weeks", "usage_drop", "high", {"percent": 30}),
    ("NPS detractor", "nps_detractor", "medium", {"days": 30}),
    ("Champion departed", "champion_departed", "high", {}),
    ("Support ticket spike", "ticket_spike", "medium", {"days": 7, "factor": 2, "min_tickets": 3}),
    ("Renewal in 90 days and not green", "renewal_not_green", "critical", {"days": 90}),
    ("Spend rising 25%+", "spend_rising", "low", {"percent": 25}),
]

# Rules that start the default risk play (transitions' "Save play") when they raise a flag:
# a renewal close by on an account that is not green is the one to act on at once.
DEFAULT_RULES_STARTING_PLAYBOOK = ["Renewal in 90 days and not green"]

DEFAULT_CHECKIN_QUESTIONS = [
    ("service_problem", "Is something wrong with our service?"),
    ("people_performance", "Is a developer or team member not performing as they should?"),
    ("cost_rising", "Is it getting more expensive for the customer?"),
    ("productivity_falling", "Is the customer becoming less productive?"),
]

DEFAULT_CADENCES = {"high": 14, "low": 14, "tech": 30}
