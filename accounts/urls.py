"""Accounts' own pages. The cockpit, all accounts, the Account 360 and its note and touchpoint forms are desk's."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("accounts/new/", views.account_create, name="account-create"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/reassign/", views.account_reassign, name="account-reassign"),
    path("accounts/<int:pk>/contacts/new/", views.contact_create, name="contact-create"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact-edit"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/verify/", views.contact_verify, name="contact-verify"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/archive/", views.contact_archive, name="contact-archive"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/restore/", views.contact_restore, name="contact-restore"),
    path("accounts/<int:pk>/timeline/", views.timeline_page, name="timeline-page"),
    path("", include("accounts.outcomes.urls")),
    path("", include("accounts.products.urls")),
    path("", include("accounts.money.urls")),
    path("", include("accounts.imports.urls")),
    path("", include("accounts.segments.urls")),
]
