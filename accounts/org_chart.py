"""The people map drawn as a picture: where each contact's box goes in the Account 360's SVG org chart.

Pure layout over trees `accounts.selectors.account_org_chart` already built from
the account's contacts (fetched in one query), so drawing the chart costs none.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Contact
from .selectors import OrgChartNode

# Every box the same size, in pixels.
ORG_BOX_WIDTH = 196
ORG_BOX_HEIGHT = 76
ORG_GAP_X = 16
ORG_GAP_Y = 40
ORG_ROOT_GAP = 24  # extra room between separate trees, so they read as separate
ORG_MARGIN = 4


@dataclass(frozen=True)
class OrgChartBox:
    contact: Contact
    x: int
    y: int
    depth: int
    width: int = ORG_BOX_WIDTH
    height: int = ORG_BOX_HEIGHT

    @property
    def role_badge_width(self) -> int:
        """Room for the deal role's label at 10px (about 6px a character), plus padding."""
        return len(self.contact.get_deal_role_display()) * 6 + 12


@dataclass(frozen=True)
class OrgChartLink:
    manager_id: int
    report_id: int
    path: str


@dataclass(frozen=True)
class OrgChartLayout:
    boxes: list[OrgChartBox]
    links: list[OrgChartLink]
    width: int
    height: int


def org_chart_layout(roots: list[OrgChartNode]) -> OrgChartLayout:
    """Place each contact's box for an SVG tree, from trees already built (no queries).

    A tidy layered layout: one row per level, reports side by side under their
    manager, a manager centred over its reports, separate trees left to right.
    Each subtree owns a band of columns no other subtree at its depth enters,
    so boxes never overlap however the chart is shaped.
    """
    boxes: list[OrgChartBox] = []
    links: list[OrgChartLink] = []
    next_left = float(ORG_MARGIN)
    deepest = 0

    def place(node: OrgChartNode, depth: int) -> float:
        nonlocal next_left, deepest
        deepest = max(deepest, depth)
        if node.reports:
            lefts = [place(child, depth + 1) for child in node.reports]
            left = (lefts[0] + lefts[-1]) / 2
        else:
            left = next_left
            next_left += ORG_BOX_WIDTH + ORG_GAP_X
        boxes.append(OrgChartBox(contact=node.contact, x=round(left), y=_row_top(depth), depth=depth))
        return left

    for index, root in enumerate(roots):
        if index:
            next_left += ORG_ROOT_GAP
        place(root, 0)

    by_pk = {box.contact.pk: box for box in boxes}
    for box in boxes:
        manager_id = box.contact.reports_to_id
        if manager_id is not None and manager_id in by_pk:
            links.append(_link(by_pk[manager_id], box))
    boxes.sort(key=lambda box: (box.y, box.x))
    width = round(next_left - ORG_GAP_X + ORG_MARGIN) if boxes else 0
    height = _row_top(deepest) + ORG_BOX_HEIGHT + ORG_MARGIN if boxes else 0
    return OrgChartLayout(boxes=boxes, links=links, width=width, height=height)


def _row_top(depth: int) -> int:
    return ORG_MARGIN + depth * (ORG_BOX_HEIGHT + ORG_GAP_Y)


def _link(manager: OrgChartBox, report: OrgChartBox) -> OrgChartLink:
    """An elbow from the bottom of the manager's box to the top of the report's."""
    start_x = manager.x + manager.width // 2
    start_y = manager.y + manager.height
    end_x = report.x + report.width // 2
    middle_y = start_y + ORG_GAP_Y // 2
    return OrgChartLink(
        manager_id=manager.contact.pk,
        report_id=report.contact.pk,
        path=f"M{start_x} {start_y}V{middle_y}H{end_x}V{report.y}",
    )
