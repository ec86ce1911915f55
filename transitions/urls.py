from django.urls import path

from .views import board, brief, bulk, handover, intro_emails, playbooks

urlpatterns = [
    path("transitions/", board.board, name="transition-board"),
    path("transitions/my-tasks/", board.my_tasks, name="my-transition-tasks"),
    path("transitions/my-tasks/complete/", board.my_tasks_complete, name="my-transition-tasks-complete"),
    path("transitions/my-tasks/intro-emails/", intro_emails.intro_emails, name="intro-emails"),
    path("transitions/<int:pk>/", handover.transition_view, name="transition-detail"),
    path(
        "transitions/<int:pk>/cancel/",
        handover.transition_cancel,
        name="transition-cancel",
    ),
    path(
        "transitions/<int:pk>/complete/",
        handover.transition_complete,
        name="transition-complete",
    ),
    path(
        "transitions/<int:pk>/reschedule/",
        handover.transition_reschedule,
        name="transition-reschedule",
    ),
    path(
        "transitions/tasks/<int:pk>/complete/",
        handover.task_complete,
        name="transition-task-complete",
    ),
    path(
        "transitions/tasks/<int:pk>/email/",
        handover.task_email,
        name="transition-task-email",
    ),
    path(
        "transitions/tasks/<int:pk>/email/preview/",
        handover.task_email_preview,
        name="transition-task-email-preview",
    ),
    path(
        "transitions/emails/<int:pk>/retry/",
        handover.email_retry,
        name="outbound-email-retry",
    ),
    path("transitions/bulk/new/", bulk.bulk_new, name="bulk-handover-new"),
    path("transitions/bulk/preview/", bulk.bulk_preview, name="bulk-handover-preview"),
    path("transitions/bulk/start/", bulk.bulk_start, name="bulk-handover-start"),
    path("transitions/bulk/<int:pk>/", bulk.bulk_detail, name="bulk-handover-detail"),
    path("playbooks/", playbooks.playbook_list, name="playbook-list"),
    path("playbooks/new/", playbooks.playbook_edit, name="playbook-create"),
    path("playbooks/<int:pk>/edit/", playbooks.playbook_edit, name="playbook-edit"),
    path("accounts/<int:pk>/handover/", handover.transition_new, name="transition-new"),
    path("accounts/<int:pk>/brief/", brief.brief, name="handover-brief"),
]
