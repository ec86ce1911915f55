from decimal import Decimal

from django.db import migrations


def create_defaults(apps, schema_editor):
    from lifecycle.flags import defaults as flag_defaults
    from lifecycle.health import defaults as health_defaults
    from lifecycle.signals import defaults as signal_defaults

    Scorecard = apps.get_model("lifecycle", "Scorecard")
    Measure = apps.get_model("lifecycle", "Measure")
    AlertRule = apps.get_model("lifecycle", "AlertRule")
    CheckInQuestion = apps.get_model("lifecycle", "CheckInQuestion")
    CheckInCadence = apps.get_model("lifecycle", "CheckInCadence")

    # Also run by tests that restore the shipped configuration, where later migrations may have added
    # versions of the same name: any scorecard of that name means it is there.
    if not Scorecard.objects.filter(name=health_defaults.DEFAULT_SCORECARD["name"]).exists():
        scorecard = Scorecard.objects.create(**health_defaults.DEFAULT_SCORECARD)
        Measure.objects.bulk_create(
            Measure(
                scorecard=scorecard,
                kind=kind,
                weight=Decimal(str(weight)),
                zero_at=Decimal(str(zero_at)),
                full_at=Decimal(str(full_at)),
                validity_days=validity,
            )
            for kind, (weight, zero_at, full_at, validity) in health_defaults.DEFAULT_MEASURES.items()
        )
    for name, kind, severity, params, *scope in flag_defaults.DEFAULT_RULES:
        AlertRule.objects.get_or_create(
            name=name, defaults={"kind": kind, "severity": severity, "params": params, "tier": scope[0] if scope else ""}
        )
    for position, (key, text) in enumerate(signal_defaults.DEFAULT_CHECKIN_QUESTIONS):
        CheckInQuestion.objects.get_or_create(key=key, defaults={"text": text, "position": position})
    for tier, days in health_defaults.DEFAULT_CADENCES.items():
        CheckInCadence.objects.get_or_create(tier=tier, defaults={"every_days": days})


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0003_health_signals_flags")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
