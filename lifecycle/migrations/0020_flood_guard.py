"""The flood guard: the share of the book one rule may flag in a night before admins are told, and its warnings."""

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lifecycle", "0019_products_usage_minutes_ticket_time"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "flood_share",
                    models.DecimalField(
                        decimal_places=3,
                        default=Decimal("0.20"),
                        help_text="Warn admins when one rule raises new flags on more than this share of the book (0.2 = 20%) in one nightly run; the flags are raised all the same.",
                        max_digits=4,
                        verbose_name="flood share",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "alert settings",
                "verbose_name_plural": "alert settings",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("pk", 1)), name="alertsettings_single_row"),
                    models.CheckConstraint(
                        condition=models.Q(("flood_share__gt", 0), ("flood_share__lte", 1)),
                        name="alertsettings_flood_share_is_a_share",
                        violation_error_message="The flood share is a share of the book: above 0 and at most 1.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="FloodWarning",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="The day the nightly run was for.")),
                ("fired", models.PositiveIntegerField(help_text="New flags the rule raised that night.")),
                (
                    "book_size",
                    models.PositiveIntegerField(help_text="Accounts in the book (all but churned) at the time."),
                ),
                ("share", models.DecimalField(decimal_places=4, help_text="fired / book size.", max_digits=7)),
                (
                    "limit",
                    models.DecimalField(decimal_places=3, help_text="The flood share in force then.", max_digits=4),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="flood_warnings",
                        to="lifecycle.alertrule",
                    ),
                ),
            ],
            options={
                "ordering": ["-day", "-share", "pk"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("acknowledged_at__isnull", True)), fields=["-day"], name="floodwarning_open"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("rule", "day"), name="floodwarning_one_per_rule_day"),
                    models.CheckConstraint(
                        condition=models.Q(("book_size__gt", 0), ("fired__gt", 0)), name="floodwarning_counts_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("share__gt", models.F("limit"))), name="floodwarning_share_above_limit"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("acknowledged_at__isnull", False), ("acknowledged_by__isnull", True), _connector="OR"
                        ),
                        name="floodwarning_acknowledged_by_has_time",
                    ),
                ],
            },
        ),
    ]
