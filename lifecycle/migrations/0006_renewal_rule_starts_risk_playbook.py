"""The default "Renewal in 90 days and not green" rule starts the risk playbook when it fires.

By name, and only if the rule is still there: an admin may have renamed or
removed it, and their choice stands.
"""

from django.db import migrations


def set_start_playbook(apps, schema_editor):
    from lifecycle.flags import defaults as flag_defaults

    AlertRule = apps.get_model("lifecycle", "AlertRule")
    AlertRule.objects.filter(name__in=flag_defaults.DEFAULT_RULES_STARTING_PLAYBOOK).update(start_playbook=True)


def unset_start_playbook(apps, schema_editor):
    from lifecycle.flags import defaults as flag_defaults

    AlertRule = apps.get_model("lifecycle", "AlertRule")
    AlertRule.objects.filter(name__in=flag_defaults.DEFAULT_RULES_STARTING_PLAYBOOK).update(start_playbook=False)


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0005_recompute_progress")]

    operations = [migrations.RunPython(set_start_playbook, unset_start_playbook)]
