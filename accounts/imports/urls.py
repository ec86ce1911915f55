from django.urls import path

from . import views

urlpatterns = [
    path("import/", views.import_start, name="import-start"),
    path("import/<int:pk>/", views.import_detail, name="import-detail"),
    path("import/<int:pk>/mapping/", views.import_mapping, name="import-mapping"),
    path("import/<int:pk>/run/", views.import_run, name="import-run"),
    path("import/<int:pk>/recheck/", views.import_recheck, name="import-recheck"),
    path("import/<int:pk>/problems.csv", views.import_errors_csv, name="import-errors"),
]
