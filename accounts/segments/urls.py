from django.urls import path

from . import views

urlpatterns = [
    path("settings/tiers/", views.rule_list, name="tier-rule-list"),
    path("settings/tiers/preview/", views.tiers_preview_page, name="tier-preview"),
    path("settings/tiers/apply/", views.tiers_apply_view, name="tier-apply"),
    path("settings/tiers/<int:pk>/edit/", views.rule_edit, name="tier-rule-edit"),
    path("settings/tiers/<int:pk>/delete/", views.rule_delete, name="tier-rule-delete"),
    path("settings/tiers/<int:pk>/move/", views.rule_move, name="tier-rule-move"),
]
