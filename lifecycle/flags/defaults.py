"""What a team gets on day one for red flags: the default alert rules.

Read by the data migrations that install them (lifecycle 0004, 0006) and by tests; admins change all of it afterwards.
"""

from __future__ import annotations

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
