from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_timeline_touchpoint_recent"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                fields=["arr_reporting", "id"], include=("stage", "owner", "pool"), name="account_portfolio_arr"
            ),
        ),
    ]
