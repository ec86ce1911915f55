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

# The first default: what migration 0004 installs, kept as it shipped (0021 replaces it with DEFAULT_MEASURES_V2).
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

# The default since issue 15: version 2 of "Standard health", installed by migration lifecycle 0021 in place of
# the first default where that is still as it shipped (a changed default gets it as a draft to compare).
# Reasoning for each measure and weight: README, "The default health score". Every measure leaves the score
# when its data is missing (the one missing-data policy), so an account is scored on what is known of it.
# kind: (weight, zero_at, full_at, validity_days)
DEFAULT_MEASURES_V2 = {
    # What the customer does: the strongest evidence, and the only part an integration always sends.
    # Ramps as wide as the range customers are found in, so a score ranks accounts rather than saturating.
    "usage_level": (3, 0, 75, 14),  # mean daily active users per licence: none 0; three in four, every day, 100
    "usage_trend": (2, -50, 20, 14),  # halving use scores 0; steady 71; a fifth more, 100
    "adoption_breadth": (2, 0, 100, 14),  # share of the products held that are in use
    # What the customer says.
    "survey_sentiment": (2, 30, 90, 180),  # NPS 3 / CSAT 2.2 scores 0; NPS 9 / CSAT 4.6, 100
    "checkin_concerns": (1, 3, 0, 30),  # concerns raised at the latest adoption check-in
    # What it costs the customer to use us.
    "support_load": (1, 20, 0, 90),  # severity points and support hours of 90 days: 20 scores 0
    # The relationship, as the CSM records it.
    "engagement_recency": (1, 60, 14, 365),  # a touchpoint within two weeks is full marks; two months, 0
    "stakeholder_coverage": (1, 0, 100, 3650),  # a current champion and decision maker
    "csm_pulse": (1.5, 1, 6, 90),  # the owner's gut feel, while it lasts
    # Where the customer is in its life with us: the first renewal is the riskiest.
    "tenure": (1, 0, 365, 3650),
}
DEFAULT_V2_NOTE = (
    "Baton's new default: usage level, trend and adoption breadth lead; a measure without data is left out "
    "rather than scored 0 or 100; open red flags are no longer counted twice. The reasoning for each measure "
    'is in the README, under "The default health score".'
)

DEFAULT_CADENCES = {"high": 14, "low": 14, "tech": 30}
