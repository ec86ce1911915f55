"""Reads of the catalogue and of entitlements: the catalogue page, the Account 360's "Products" panel, the API's lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.deletion import PROTECT
from django.utils import timezone

from accounts.models import Account, Entitlement, Product


def in_force_q(day: dt.date, prefix: str = "") -> Q:
    """Entitlements in force on `day` (from `starts_on` to `ends_on`, both included); `prefix` reaches them through a relation."""
    return Q(**{f"{prefix}starts_on__lte": day}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": day})
    )


def product_catalogue(*, today: dt.date | None = None) -> QuerySet[Product]:
    """Every product by name, with how many accounts hold it today (`holders`) and ever held it (`ever_held`): one query."""
    today = today or timezone.localdate()
    return Product.objects.annotate(
        holders=Count("entitlements__account", filter=in_force_q(today, "entitlements__"), distinct=True),
        ever_held=Count("entitlements__account", distinct=True),
    ).order_by("name", "key")


@dataclass(frozen=True)
class EntitlementRow:
    """One entitlement as the Account 360 lists it, with where it stands on the day the page is shown."""

    entitlement: Entitlement
    today: dt.date

    @property
    def in_force(self) -> bool:
        return self.entitlement.in_force_on(self.today)

    @property
    def upcoming(self) -> bool:
        return self.entitlement.starts_on > self.today

    @property
    def ended(self) -> bool:
        return self.entitlement.ends_on is not None and self.entitlement.ends_on < self.today


def account_entitlements(account: Account, *, today: dt.date | None = None) -> list[EntitlementRow]:
    """The account's entitlements, those in force first, then those to come, then those ended; by product: one query."""
    today = today or timezone.localdate()
    rows = [
        EntitlementRow(entitlement=entitlement, today=today)
        for entitlement in Entitlement.objects.filter(account=account)
        .select_related("product")
        .order_by("product__name", "-starts_on", "-pk")
    ]
    return sorted(rows, key=lambda row: 0 if row.in_force else 1 if row.upcoming else 2)


def entitlements_for_api() -> QuerySet[Entitlement]:
    return Entitlement.objects.select_related("product", "account__owner")


def product_in_use(product: Product) -> str | None:
    """Why `product` cannot be deleted, in words; None when nothing refers to it.

    Entitlements are counted; any other model that keeps a protected reference (daily product
    usage, kept by lifecycle) is asked only whether one row exists, as it may hold millions.
    """
    held = Entitlement.objects.filter(product=product).aggregate(
        rows=Count("pk"), accounts=Count("account", distinct=True)
    )
    reasons = []
    if held["rows"]:
        holders = "1 account holds it" if held["accounts"] == 1 else f"{held['accounts']:,} accounts hold it"
        reasons.append(f"{holders} ({held['rows']:,} entitlement{'s' if held['rows'] != 1 else ''})")
    for relation in Product._meta.related_objects:
        if relation.on_delete is not PROTECT or relation.related_model is Entitlement:
            continue
        model = relation.related_model
        if model._default_manager.filter(**{relation.field.name: product}).exists():
            reasons.append(f"{model._meta.verbose_name_plural} refers to it")
    if not reasons:
        return None
    return (
        f"{product.name} is in use and cannot be deleted: {' and '.join(reasons)}. A product with history stays "
        "in the catalogue; delete only one added by mistake, once nothing refers to it."
    )
