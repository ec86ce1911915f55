from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

STAGE_BADGES = {
    "onboarding": "text-bg-info",
    "adoption": "text-bg-primary",
    "success": "text-bg-success",
    "at_risk": "text-bg-danger",
    "churned": "text-bg-secondary",
}
OUTCOME_BADGES = {
    "renewed": "text-bg-success",
    "downgraded": "text-bg-warning",
    "churned": "text-bg-dark",
}
MOVEMENT_BADGES = {
    "expansion": "text-success-emphasis bg-success-subtle border border-success-subtle",
    "flat": "text-secondary-emphasis bg-secondary-subtle border border-secondary-subtle",
    "contraction": "text-warning-emphasis bg-warning-subtle border border-warning-subtle",
    "churn": "text-danger-emphasis bg-danger-subtle border border-danger-subtle",
}
SENTIMENT_BADGES = {
    "positive": "text-bg-success",
    "neutral": "text-bg-light border",
    "negative": "text-bg-danger",
    "unknown": "text-bg-light border text-muted",
}


@register.simple_tag
def sort_header(label: str, key: str, current: str, query_string: str, numeric: bool = False) -> str:
    """A column header that toggles ascending/descending sort and shows the current direction."""
    active = current.lstrip("-") == key
    descending = current.startswith("-")
    next_sort = f"-{key}" if active and not descending else key
    if numeric and not active:
        next_sort = f"-{key}"
    arrow = ("▼" if descending else "▲") if active else ""
    separator = "&" if query_string else ""
    href = f"?{query_string}{separator}sort={next_sort}"
    return format_html(
        '<a class="sort-link{}" href="{}" hx-get="{}" hx-target="#account-table" hx-push-url="true"'
        ' aria-sort="{}">{} <span class="sort-arrow">{}</span></a>',
        " active" if active else "",
        href,
        href,
        ("descending" if descending else "ascending") if active else "none",
        label,
        arrow,
    )


@register.filter
def stage_badge(stage: str) -> str:
    return STAGE_BADGES.get(stage, "text-bg-secondary")


@register.filter
def sentiment_badge(sentiment: str) -> str:
    return SENTIMENT_BADGES.get(sentiment, "text-bg-light border")


@register.filter
def indent(depth: int) -> str:
    return f"{depth * 1.5:.1f}rem"


@register.filter
def absolute(value: int) -> int:
    return abs(value)


@register.filter
def outcome_badge(kind: str) -> str:
    return OUTCOME_BADGES.get(kind, "text-bg-secondary")


@register.filter
def movement_badge(movement: str) -> str:
    return MOVEMENT_BADGES.get(movement, "text-bg-light border")


@register.filter
def trend(change: Decimal | float | str | None) -> SafeString:
    """A change in points as the lists show it: "▲ 3", "▼ 2", "= 0" when steady, "—" when unknown.

    The change is rounded to whole points first, halves away from zero (as floatformat
    rounds): an arrow only when that is not zero, so -0.4 reads "= 0" and -0.5 "▼ 1",
    never "▼ 0". An account never scored has no health row: its change resolves to "".
    """
    if change is None or change == "":
        return mark_safe('<span class="text-muted">—</span>')
    points = int(Decimal(str(change)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if points > 0:
        return format_html('<span class="text-success">▲ {}</span>', points)
    if points < 0:
        return format_html('<span class="text-danger">▼ {}</span>', -points)
    return mark_safe('<span class="text-muted">= 0</span>')
