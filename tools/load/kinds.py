"""The request kinds of the load, who sends each, and how often in the mix (imported by both processes).

CSMs work in the browser: the cockpit, an Account 360, a note on it, a handover step done. An integration,
with a token, reads the accounts API and sends usage rows. Each simulated user draws its next request's kind
by these weights (9 in 16 requests from CSMs, 7 from the integration), so the mix is the same whatever each
kind's latency.
"""

from __future__ import annotations

CSM = "csm"
INTEGRATION = "integration"

COCKPIT = "cockpit"
ACCOUNT_360 = "account 360"
ADD_NOTE = "add note"
COMPLETE_TASK = "complete task"
API_LIST = "api account list"
API_DETAIL = "api account detail"
USAGE_INGEST = "usage ingest"

# kind: (who sends it, weight in the mix)
KINDS: dict[str, tuple[str, int]] = {
    COCKPIT: (CSM, 3),
    ACCOUNT_360: (CSM, 4),
    ADD_NOTE: (CSM, 1),
    COMPLETE_TASK: (CSM, 1),
    API_LIST: (INTEGRATION, 2),
    API_DETAIL: (INTEGRATION, 4),
    USAGE_INGEST: (INTEGRATION, 1),
}

# Signing in (the form's page, then its POST) happens once per simulated user before the measured window; it is
# reported apart and its errors count, but it is not one of the kinds compared.
LOGIN_PAGE = "login page"
LOGIN = "login"
