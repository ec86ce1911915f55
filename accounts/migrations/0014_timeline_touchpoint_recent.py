from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_contact_archive_and_actor_names"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="timelineentry",
            index=models.Index(
                condition=models.Q(("kind", "touchpoint")),
                fields=["occurred_at"],
                include=("account",),
                name="timeline_touchpoint_recent",
            ),
        ),
    ]
