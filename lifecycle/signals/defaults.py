"""What a team gets on day one for check-in calls: the questions the adoption check-in asks.

Read by the data migration that installs them (lifecycle 0004) and by tests; admins change all of it afterwards.
"""

from __future__ import annotations

DEFAULT_CHECKIN_QUESTIONS = [
    ("service_problem", "Is something wrong with our service?"),
    ("people_performance", "Is a developer or team member not performing as they should?"),
    ("cost_rising", "Is it getting more expensive for the customer?"),
    ("productivity_falling", "Is the customer becoming less productive?"),
]
