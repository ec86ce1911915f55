"""Segmentation: which tier (high-touch, low-touch, tech-touch) each account is served in.

Admins keep an ordered list of tier rules at `/settings/tiers/`: each names a tier and conditions
on the account's ARR in the reporting currency (at least / below), its industry and its region.
The first rule that matches an account gives its tier; when none matches, the tier stays as it
is (a last rule without conditions makes a default).

The rules decide an account's tier when it is created and whenever its ARR, currency, industry
or region change through the account services, unless someone set the tier by hand
(`Account.tier_source` manual): then it keeps that tier until someone lets the rules decide again.
An account whose currency has no exchange rate cannot be compared with an ARR threshold, so an
ARR rule leaves it as it is and the preview lists it as having no exchange rate.

A new exchange rate changes converted ARR but moves no tier by itself: the preview at
`/settings/tiers/preview/` shows the accounts the rules would now move, and an admin applies
them at once (`services.tiers_apply`). Cadence and scorecard follow `Account.tier`, so a moved
account's health is recomputed with its new tier's scorecard.
"""
