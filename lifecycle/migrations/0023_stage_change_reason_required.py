from django.db import migrations, models


def fill_blank_reasons(apps, schema_editor) -> None:
    # Changes recorded before a reason was required say so, in one statement.
    StageChange = apps.get_model("lifecycle", "StageChange")
    StageChange.objects.filter(reason="").update(reason="(no reason recorded)")


class Migration(migrations.Migration):
    dependencies = [
        ("lifecycle", "0022_api_orderings"),
    ]

    operations = [
        migrations.RunPython(fill_blank_reasons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="stagechange",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="stagechange_reason_not_blank"
            ),
        ),
    ]
