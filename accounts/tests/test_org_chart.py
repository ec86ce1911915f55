"""The people map drawn as a picture: where each contact's box goes, from trees already built."""

from __future__ import annotations

from itertools import combinations

from accounts.models import Contact
from accounts.org_chart import (
    ORG_BOX_HEIGHT,
    ORG_BOX_WIDTH,
    ORG_GAP_X,
    ORG_GAP_Y,
    ORG_MARGIN,
    ORG_ROOT_GAP,
    OrgChartBox,
    OrgChartLayout,
    org_chart_layout,
)
from accounts.selectors import account_org_chart

COLUMN = ORG_BOX_WIDTH + ORG_GAP_X
ROW = ORG_BOX_HEIGHT + ORG_GAP_Y


def person(pk: int, name: str, manager: int | None = None, **fields) -> Contact:
    # Unsaved contacts with ids: the layout reads only what one query already fetched.
    return Contact(pk=pk, first_name=name, reports_to_id=manager, **fields)


def hand_built_book() -> list[Contact]:
    """Two trees: Ceo over two VPs (one with two leads), and an adviser on their own."""
    return [
        person(1, "Adviser"),
        person(2, "Ceo"),
        person(3, "Vp Sales", 2),
        person(4, "Lead East", 3),
        person(5, "Lead West", 3, departed=True),
        person(6, "Vp Ops", 2),
    ]


def laid_out(contacts: list[Contact]) -> tuple[OrgChartLayout, dict[str, OrgChartBox]]:
    layout = org_chart_layout(account_org_chart(contacts))
    return layout, {box.contact.first_name: box for box in layout.boxes}


def overlaps(a: OrgChartBox, b: OrgChartBox) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def test_each_level_is_a_row_and_managers_sit_centred_over_their_reports():
    layout, box = laid_out(hand_built_book())

    assert {name: b.depth for name, b in box.items()} == {
        "Adviser": 0,
        "Ceo": 0,
        "Vp Sales": 1,
        "Lead East": 2,
        "Lead West": 2,
        "Vp Ops": 1,
    }
    assert all(b.y == ORG_MARGIN + b.depth * ROW for b in box.values())
    # The adviser's tree first, then the Ceo's, a little apart; leaves side by side in order.
    assert box["Adviser"].x == ORG_MARGIN
    assert box["Lead East"].x == ORG_MARGIN + COLUMN + ORG_ROOT_GAP
    assert box["Lead West"].x == box["Lead East"].x + COLUMN
    assert box["Vp Ops"].x == box["Lead West"].x + COLUMN
    assert box["Vp Sales"].x == (box["Lead East"].x + box["Lead West"].x) // 2
    assert box["Ceo"].x == (box["Vp Sales"].x + box["Vp Ops"].x) // 2
    # The picture is as big as what it holds, and no bigger.
    assert layout.width == box["Vp Ops"].x + ORG_BOX_WIDTH + ORG_MARGIN
    assert layout.height == ORG_MARGIN + 2 * ROW + ORG_BOX_HEIGHT + ORG_MARGIN


def test_no_two_boxes_overlap():
    # A wide and uneven book: a manager with seven reports, chains of different depths, three roots.
    contacts = [person(1, "Root A"), person(2, "Root B"), person(3, "Root C")]
    contacts += [person(10 + i, f"Report {i}", 1) for i in range(7)]
    contacts += [person(20 + i, f"Chain {i}", 20 + i - 1 if i else 2) for i in range(5)]
    contacts += [person(30, "Under chain", 21), person(31, "Under report", 12), person(32, "Lone", 3)]
    layout, box = laid_out(contacts)

    assert len(layout.boxes) == len(contacts)
    assert not [
        (a.contact.first_name, b.contact.first_name) for a, b in combinations(layout.boxes, 2) if overlaps(a, b)
    ]
    assert all(b.x >= 0 and b.x + b.width <= layout.width and b.y + b.height <= layout.height for b in layout.boxes)


def test_several_roots_stand_side_by_side_on_the_top_row():
    layout, box = laid_out([person(1, "Alpha"), person(2, "Beta"), person(3, "Gamma")])

    assert [(b.contact.first_name, b.x, b.y) for b in layout.boxes] == [
        ("Alpha", ORG_MARGIN, ORG_MARGIN),
        ("Beta", ORG_MARGIN + COLUMN + ORG_ROOT_GAP, ORG_MARGIN),
        ("Gamma", ORG_MARGIN + 2 * (COLUMN + ORG_ROOT_GAP), ORG_MARGIN),
    ]
    assert layout.links == []


def test_each_report_is_linked_to_its_manager_by_an_elbow():
    layout, box = laid_out(hand_built_book())

    assert sorted((link.manager_id, link.report_id) for link in layout.links) == [(2, 3), (2, 6), (3, 4), (3, 5)]
    to_lead = next(link for link in layout.links if link.report_id == 4)
    vp, lead = box["Vp Sales"], box["Lead East"]
    start_y = vp.y + ORG_BOX_HEIGHT
    assert to_lead.path == (
        f"M{vp.x + ORG_BOX_WIDTH // 2} {start_y}V{start_y + ORG_GAP_Y // 2}H{lead.x + ORG_BOX_WIDTH // 2}V{lead.y}"
    )


def test_a_departed_contact_keeps_their_place_and_their_mark():
    layout, box = laid_out(hand_built_book())
    assert box["Lead West"].contact.departed and box["Lead West"].depth == 2


def test_an_account_without_contacts_draws_nothing():
    layout = org_chart_layout([])
    assert (layout.boxes, layout.links, layout.width, layout.height) == ([], [], 0, 0)
