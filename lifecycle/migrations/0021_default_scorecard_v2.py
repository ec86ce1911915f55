"""Version 2 of the default scorecard (issue 15): live where the first default is still as it shipped.

An install whose admins changed the default keeps its own live version and gets the new default as a
draft of the same scorecard, to preview and backtest before activating it (or deleting it).
"""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone


def _measure_tuples(card) -> set:
    return {
        (m.kind, Decimal(m.weight), Decimal(m.zero_at), Decimal(m.full_at), m.validity_days, m.when_missing)
        for m in card.measures.all()
    }


def _as_shipped(measures: dict) -> set:
    return {
        (kind, Decimal(str(weight)), Decimal(str(zero_at)), Decimal(str(full_at)), validity, "skip")
        for kind, (weight, zero_at, full_at, validity) in measures.items()
    }


def install_default_v2(apps, schema_editor):
    from lifecycle.health import defaults

    Scorecard = apps.get_model("lifecycle", "Scorecard")
    Measure = apps.get_model("lifecycle", "Measure")
    live = Scorecard.objects.filter(status="active", tier="", stage="", name=defaults.DEFAULT_SCORECARD["name"]).first()
    if live is None:
        return  # the default was renamed or replaced: nothing here is the shipped scorecard any more
    lineage = Scorecard.objects.filter(lineage=live.lineage)
    if _measure_tuples(live) == _as_shipped(defaults.DEFAULT_MEASURES_V2):
        return  # already installed
    unchanged = _measure_tuples(live) == _as_shipped(defaults.DEFAULT_MEASURES) and (
        live.green_min,
        live.yellow_min,
    ) == (defaults.DEFAULT_SCORECARD["green_min"], defaults.DEFAULT_SCORECARD["yellow_min"])
    if not unchanged and lineage.filter(status="draft").exists():
        return  # the admins' own draft stays; they can clone the new default from the README's figures
    now = timezone.now()
    version = max(lineage.values_list("version", flat=True)) + 1
    if unchanged:
        live.status, live.retired_at = "retired", now
        live.save(update_fields=["status", "retired_at"])
    card = Scorecard.objects.create(
        lineage=live.lineage,
        version=version,
        status="active" if unchanged else "draft",
        name=live.name,
        description=live.description,
        green_min=defaults.DEFAULT_SCORECARD["green_min"],
        yellow_min=defaults.DEFAULT_SCORECARD["yellow_min"],
        based_on=live,
        created_at=now,
        activated_at=now if unchanged else None,
        activation_note=defaults.DEFAULT_V2_NOTE if unchanged else "",
    )
    Measure.objects.bulk_create(
        Measure(
            scorecard=card,
            kind=kind,
            weight=Decimal(str(weight)),
            zero_at=Decimal(str(zero_at)),
            full_at=Decimal(str(full_at)),
            validity_days=validity,
            when_missing="skip",
        )
        for kind, (weight, zero_at, full_at, validity) in defaults.DEFAULT_MEASURES_V2.items()
    )


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0020_flood_guard")]

    operations = [migrations.RunPython(install_default_v2, migrations.RunPython.noop)]
