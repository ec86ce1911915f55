from django.urls import path

from . import views

urlpatterns = [
    path("accounts/<int:pk>/plans/new/", views.plan_create, name="plan-create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan-edit"),
    path(
        "plans/<int:pk>/objectives/new/",
        views.objective_create,
        name="objective-create",
    ),
    path("plans/objectives/<int:pk>/edit/", views.objective_edit, name="objective-edit"),
    path(
        "plans/<int:pk>/achievements/new/",
        views.achievement_add,
        name="achievement-add",
    ),
]
