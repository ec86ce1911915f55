from django.urls import path

from lifecycle.health.scorecards import views

urlpatterns = [
    path("scorecards/", views.scorecard_list, name="scorecard-list"),
    path("scorecards/new/", views.scorecard_create, name="scorecard-create"),
    path("scorecards/<int:pk>/", views.scorecard_detail, name="scorecard-detail"),
    path("scorecards/<int:pk>/edit/", views.scorecard_edit, name="scorecard-edit"),
    path("scorecards/<int:pk>/clone/", views.scorecard_clone, name="scorecard-clone"),
    path("scorecards/<int:pk>/preview/", views.scorecard_preview_page, name="scorecard-preview"),
    path("scorecards/<int:pk>/activate/", views.scorecard_activate, name="scorecard-activate"),
    path("scorecards/<int:pk>/retire/", views.scorecard_retire, name="scorecard-retire"),
    path("scorecards/<int:pk>/delete/", views.scorecard_delete, name="scorecard-delete"),
]
