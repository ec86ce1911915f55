"""Ship sensible defaults: the handover playbook from the field notes and an onboarding checklist."""

from django.db import migrations

HANDOVER_EMAIL_SUBJECT = (
    "{account}: introducing {incoming_csm}, your new customer success manager"
)
HANDOVER_EMAIL_BODY = """Hi {contact_first_name},

I wanted you to hear it from us first: {outgoing_csm} is handing over the {account} account to {incoming_csm}, who will be your customer success manager from now on.

{outgoing_csm} has shared your goals, your team and everything we have worked on together, so you will not need to start from scratch. We would like to hold a short handover call, the three of us, on {call_date}. If that does not suit you, just reply with a better time.

Best regards,
{incoming_csm}
"""

HANDOVER_STEPS = [
    (
        "Notify the customer",
        "Send the introduction email to the champion and the decision maker before anything else changes. Personalise it: the customer did not ask for this change.",
        "incoming",
        1,
        True,
        HANDOVER_EMAIL_SUBJECT,
        HANDOVER_EMAIL_BODY,
    ),
    (
        "Verify contact details",
        "Check every current contact's title, email and phone, mark departed people, and click Verify on each.",
        "outgoing",
        3,
        True,
        "",
        "",
    ),
    (
        "Update the org chart",
        "Who reports to whom; who champions us, who decides, who can break a deal. Set role, influence and sentiment.",
        "outgoing",
        5,
        True,
        "",
        "",
    ),
    (
        "Update goals and success plan",
        "Goals, metrics and progress in the success plan; what they bought us for; where they want to expand.",
        "outgoing",
        7,
        True,
        "",
        "",
    ),
    (
        "Write the internal context note",
        "Relationships with each stakeholder, decision rhythm, blockers, past issues, ongoing projects, risks.",
        "outgoing",
        7,
        True,
        "",
        "",
    ),
    (
        "Hold the handover call",
        "Outgoing and incoming CSM meet the customer together; walk through the success plan. Log it as a touchpoint.",
        "incoming",
        10,
        True,
        "",
        "",
    ),
    (
        "Incoming CSM confirms ownership",
        "Read the handover brief end to end. Confirming makes you the account's owner.",
        "incoming",
        14,
        True,
        "",
        "",
    ),
]

ONBOARDING_STEPS = [
    (
        "Hold the kickoff call",
        "Introduce yourself and the plan; agree the first milestones. Log it as a touchpoint within 14 days.",
        "incoming",
        7,
        True,
    ),
    (
        "Record the success criteria",
        "Create the success plan with the objectives the customer bought us for.",
        "incoming",
        14,
        True,
    ),
    (
        "Map the stakeholders",
        "Champion, decision maker and economic buyer in the people map.",
        "incoming",
        14,
        True,
    ),
    (
        "Confirm the first value milestone",
        "The first outcome the customer can point at; record it as an achievement.",
        "incoming",
        45,
        True,
    ),
    (
        "Manager check-in at day 60",
        "Is onboarding on track for engagement by day 90?",
        "manager",
        60,
        False,
    ),
]


def create_defaults(apps, schema_editor):
    Playbook = apps.get_model("transitions", "Playbook")
    PlaybookStep = apps.get_model("transitions", "PlaybookStep")
    HandoverPolicy = apps.get_model("transitions", "HandoverPolicy")
    handover = Playbook.objects.create(
        name="Default handover",
        kind="handover",
        description="Hand an account to another CSM without losing context (notify, verify, map, plan, note, call, confirm).",
        is_default=True,
    )
    PlaybookStep.objects.bulk_create(
        PlaybookStep(
            playbook=handover,
            position=position,
            title=title,
            guidance=guidance,
            assignee_role=role,
            due_offset_days=offset,
            required=required,
            email_subject=subject,
            email_body=body,
        )
        for position, (
            title,
            guidance,
            role,
            offset,
            required,
            subject,
            body,
        ) in enumerate(HANDOVER_STEPS, start=1)
    )
    onboarding = Playbook.objects.create(
        name="Onboarding checklist",
        kind="stage",
        trigger_stage="onboarding",
        description="Started when an account enters onboarding.",
        is_default=True,
    )
    PlaybookStep.objects.bulk_create(
        PlaybookStep(
            playbook=onboarding,
            position=position,
            title=title,
            guidance=guidance,
            assignee_role=role,
            due_offset_days=offset,
            required=required,
        )
        for position, (title, guidance, role, offset, required) in enumerate(
            ONBOARDING_STEPS, start=1
        )
    )
    HandoverPolicy.objects.get_or_create(pk=1)


def remove_defaults(apps, schema_editor):
    Playbook = apps.get_model("transitions", "Playbook")
    Playbook.objects.filter(
        name__in=["Default handover", "Onboarding checklist"], transitions__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("transitions", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
