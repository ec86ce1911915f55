from django.urls import path

from lifecycle.health.backtest import views

urlpatterns = [
    path("backtests/", views.backtest_list, name="backtest-list"),
    path("backtests/new/", views.backtest_new, name="backtest-new"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest-detail"),
    path("backtests/<int:pk>/progress/", views.backtest_progress, name="backtest-progress"),
    path("backtests/<int:pk>/draft/", views.backtest_draft, name="backtest-draft"),
]
