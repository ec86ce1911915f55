from django.urls import path

from . import views

urlpatterns = [
    path("", views.cockpit, name="cockpit"),
    path("accounts/", views.account_list, name="account-list"),
    path("accounts/new/", views.account_create, name="account-create"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/reassign/", views.account_reassign, name="account-reassign"),
    path("accounts/<int:pk>/contacts/new/", views.contact_create, name="contact-create"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact-edit"),
    path("accounts/<int:pk>/contacts/<int:contact_pk>/verify/", views.contact_verify, name="contact-verify"),
    path("accounts/<int:pk>/notes/", views.note_add, name="note-add"),
    path("accounts/<int:pk>/touchpoints/", views.touchpoint_add, name="touchpoint-add"),
    path("accounts/<int:pk>/timeline/", views.timeline_page, name="timeline-page"),
]
