"""What a team gets on day one for health: the default scorecard and check-in cadences.

Read by the data migration that installs them (lifecycle 0004) and by tests; admins change all of it afterwards.
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

# Where the editor starts a measure the shipped scorecard does not use, when someone ticks it. Not part of
# the default scorecard (DEFAULT_MEASURES is what migration 0004 installs, and stays as it shipped).
# kind: (weight, zero_at, full_at, validity_days)
SUGGESTED_MEASURES = {
    "usage_level": (1.5, 0, 40, 28),  # none of the licences in daily use scores 0; 40% of them daily, 100
    "survey_sentiment": (1, 30, 90, 180),  # on the 0-100 scale both surveys are read in
    "support_load": (1, 30, 0, 90),  # weighted tickets opened in 90 days: 30 points (10 high ones) scores 0
    "tenure": (1, 0, 365, 3650),  # a first-year customer climbs from 0; a year or more scores 100
    "adoption_breadth": (1.5, 0, 100, 28),  # none of the products held in use scores 0; every one, 100
}

DEFAULT_CADENCES = {"high": 14, "low": 14, "tech": 30}
