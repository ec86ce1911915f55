"""Ship a default risk play, started when a red-flag rule marked "start the risk playbook" fires.

The owner's steps use the "incoming" role, as the onboarding checklist does:
in a play that is not a handover, the incoming CSM is the account's owner.
"""

from django.db import migrations

RISK_PLAYBOOK_NAME = "Save play: account at risk"

RISK_STEPS = [
    (
        "Call the champion",
        "Hear it from them before anything else: what changed, who is unhappy, what would make the renewal easy. "
        "Log the call as a touchpoint. If the champion has left, find out who carries the decision now.",
        "incoming",
        2,
        True,
    ),
    (
        "Review usage and tickets with support",
        "Go through the last 90 days of usage and every open or recent ticket with the support lead: "
        "is it one team, one feature, one bug? Note what support can fix and by when.",
        "incoming",
        4,
        True,
    ),
    (
        "Agree a recovery plan with the customer",
        "Two or three concrete outcomes with an owner and a date on each side, recorded as objectives in the success plan.",
        "incoming",
        7,
        True,
    ),
    (
        "Manager check-in",
        "Is the plan credible and resourced? Decide whether to escalate to leadership or offer commercial help.",
        "manager",
        9,
        True,
    ),
    (
        "Log the outcome",
        "Write an internal note: what was agreed, whether the risk is contained, what to watch next. "
        "Then resolve the red flag or say why it stays open.",
        "incoming",
        14,
        True,
    ),
]


def create_risk_playbook(apps, schema_editor):
    Playbook = apps.get_model("transitions", "Playbook")
    PlaybookStep = apps.get_model("transitions", "PlaybookStep")
    if Playbook.objects.filter(kind="risk", is_default=True).exists():
        return  # An admin already chose a default risk play; leave it be.
    playbook, created = Playbook.objects.get_or_create(
        name=RISK_PLAYBOOK_NAME,
        kind="risk",
        defaults={
            "description": "Started automatically when a red-flag rule set to start the risk playbook fires "
            "(out of the box: renewal in 90 days and not green). Call, diagnose, agree a plan, check in, log the outcome.",
            "is_default": True,
        },
    )
    if created:
        PlaybookStep.objects.bulk_create(
            PlaybookStep(
                playbook=playbook,
                position=position,
                title=title,
                guidance=guidance,
                assignee_role=role,
                due_offset_days=offset,
                required=required,
            )
            for position, (title, guidance, role, offset, required) in enumerate(
                RISK_STEPS, start=1
            )
        )


def remove_risk_playbook(apps, schema_editor):
    Playbook = apps.get_model("transitions", "Playbook")
    Playbook.objects.filter(
        name=RISK_PLAYBOOK_NAME, kind="risk", transitions__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("transitions", "0003_one_active_risk_play")]

    operations = [migrations.RunPython(create_risk_playbook, remove_risk_playbook)]
