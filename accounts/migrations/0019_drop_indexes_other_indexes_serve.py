"""Two indexes on accounts whose every query another index serves as well; each costs every write of an account.

Every rewrite of an account row (the import, the converted-ARR refresh after a rate change) also writes
each of the table's indexes. EXPLAIN on a 100,000-account book, with the index and then without it:

- account_arr_desc (arr DESC): ORDER BY arr DESC, id LIMIT 50 (the bulk page) goes from Incremental Sort over
  Index Scan using account_arr_desc (cost 28.44..80.46) to Incremental Sort over Index Scan Backward using
  account_api_arr (29.00..82.03), 0.07 ms either way; the API's "-arr" pages already walk account_api_arr.
- the owner foreign key's own index (owner_id): WHERE owner_id = 9 LIMIT 1 (the PROTECT check when a user is
  deleted) goes from Index Only Scan on it (0.42..0.46) to Index Only Scan using account_owner_renewal, which
  leads with owner_id (0.42..0.46); the desk count, the desk list and the renewals-within filter keep their plans.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0018_portfolio_index_covers_the_book"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="account",
            name="account_arr_desc",
        ),
        migrations.AlterField(
            model_name="account",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The assigned CSM.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owned_accounts",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
