"""The desk's pages, at the URLs and names they had before they moved up from accounts and lifecycle."""

from django.urls import include, path

from .views import account, alerts, lists

urlpatterns = [
    path("", lists.cockpit, name="cockpit"),
    path("accounts/", lists.account_list, name="account-list"),
    path("accounts/<int:pk>/", account.account_detail, name="account-detail"),
    path("accounts/<int:pk>/stage/", account.stage_change, name="stage-change"),
    path("accounts/<int:pk>/notes/", account.note_add, name="note-add"),
    path("accounts/<int:pk>/touchpoints/", account.touchpoint_add, name="touchpoint-add"),
    path("accounts/<int:pk>/outcomes/", account.outcome_add, name="outcome-add"),
    path("alerts/", alerts.alerts, name="alerts"),
    path("", include("desk.portfolio.urls")),
]
