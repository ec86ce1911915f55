import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, F, Sum


def roll_up_past_days(apps, schema_editor) -> None:
    """Every day that already has snapshots, added up once (as lifecycle.health.rollup does for each new day)."""
    HealthScore = apps.get_model("lifecycle", "HealthScore")
    HealthBandDaily = apps.get_model("lifecycle", "HealthBandDaily")
    rows = (
        HealthScore.objects.exclude(account__stage="churned")
        .values("day", "band", owner=F("account__owner_id"), pool=F("account__pool_id"), tier_=F("account__tier"))
        .annotate(n=Count("account_id"), n_scored=Count("score"), total=Sum("score"))
        .order_by()
    )
    HealthBandDaily.objects.bulk_create(
        (
            HealthBandDaily(
                day=row["day"],
                owner_id=row["owner"],
                pool_id=row["pool"],
                tier=row["tier_"],
                band=row["band"],
                accounts=row["n"],
                scored=row["n_scored"],
                score_sum=row["total"] or 0,
            )
            for row in rows.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("lifecycle", "0023_stage_change_reason_required"),
        ("users", "0003_integration_token_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HealthBandDaily",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                (
                    "tier",
                    models.CharField(
                        choices=[("high", "High-touch"), ("low", "Low-touch"), ("tech", "Tech-touch")], max_length=8
                    ),
                ),
                (
                    "band",
                    models.CharField(
                        blank=True, choices=[("green", "Green"), ("yellow", "Yellow"), ("red", "Red")], max_length=8
                    ),
                ),
                ("accounts", models.PositiveIntegerField(default=0)),
                (
                    "scored",
                    models.PositiveIntegerField(
                        default=0, help_text="Accounts with a score (the rest had no measure data)."
                    ),
                ),
                ("score_sum", models.DecimalField(decimal_places=1, default=0, max_digits=12)),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pool",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="users.team",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="healthbanddaily_day")],
            },
        ),
        migrations.RunPython(roll_up_past_days, migrations.RunPython.noop),
    ]
