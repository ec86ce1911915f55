"""Outbound webhooks: admins register URLs for events; each delivery is signed, retried, logged and shown.

models (endpoints, deliveries, attempts) · addresses (which URLs may be posted to) · signing · posting
(one HTTP POST) · payloads (what each event says) · services · handlers (subscribed in notifications/apps.py)
· tasks · views, forms, urls (/settings/webhooks/) · api (/api/webhooks/).
"""
