"""How API lists are sorted and paged (the defaults in REST_FRAMEWORK, so apps import nothing from here).

A list whose view declares `ordering_keys` (accounts, contacts, usage, red flags) pages by keyset: a page starts
after the sort key of the row that ended the one before, so PostgreSQL walks an index from there and page 2,000
costs what page 1 costs. Such a list offers only the orderings an index serves, each ending in a unique key
(the id) so a position is one row. Every other list (teams, rules, playbooks...: small) keeps page numbers and
DRF's ordering filter. README, "API".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import BooleanField, Expression, F, Q, QuerySet, Value
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


# One ordering as the view declares it: its keys, most significant first, the last one unique (the id); "-" in
# front of a column means descending. A key may be (alias, expression), e.g. a nullable column coalesced so its
# index holds no NULLs to step around.
OrderingKeys = Sequence[str | tuple[str, Expression]]


@dataclass(frozen=True)
class SortKey:
    alias: str
    descending: bool
    expression: Expression | None = None

    def flipped(self) -> SortKey:
        return SortKey(self.alias, not self.descending, self.expression)

    def order_by(self):
        return F(self.alias).desc() if self.descending else F(self.alias).asc()


def _sort_keys(keys: OrderingKeys, *, descending: bool) -> list[SortKey]:
    """`keys` as declared for the ascending ordering; the descending one reverses every key (a backward index scan)."""
    parsed = []
    for key in keys:
        if isinstance(key, tuple):
            alias, expression = key
            parsed.append(SortKey(alias, False, expression))
        else:
            parsed.append(SortKey(key.removeprefix("-"), key.startswith("-")))
    return [key.flipped() for key in parsed] if descending else parsed


def ordering_term(request: Request, view) -> str:
    """The `?ordering=` the list sorts by: the first offered one asked for, else the view's default."""
    offered: Mapping[str, OrderingKeys] = view.ordering_keys
    asked = request.query_params.get(OrderingFilter.ordering_param, "")
    for term in (part.strip() for part in asked.split(",")):
        if term.removeprefix("-") in offered:
            return term
    return _default_term(view)


def _default_term(view) -> str:
    return view.ordering[0] if isinstance(view.ordering, list | tuple) else view.ordering


def pages_by_keyset(view) -> bool:
    return bool(getattr(view, "ordering_keys", None))


def keys_for(ordering_keys: Mapping[str, OrderingKeys], term: str) -> list[SortKey]:
    """The sort keys of `?ordering=<term>` on a list offering `ordering_keys`."""
    return _sort_keys(ordering_keys[term.removeprefix("-")], descending=term.startswith("-"))


def sort_keys(request: Request, view) -> tuple[str, list[SortKey]]:
    term = ordering_term(request, view)
    return term, keys_for(view.ordering_keys, term)


def ordered(queryset: QuerySet, keys: Sequence[SortKey]) -> QuerySet:
    computed = {key.alias: key.expression for key in keys if key.expression is not None}
    # Annotated, not aliased: the pagination reads each row's key to write the next cursor.
    return queryset.annotate(**computed).order_by(*(key.order_by() for key in keys))


class KeysetOrderingFilter(OrderingFilter):
    """On a keyset list, `?ordering=` among the view's `ordering_keys` (and their "-" descending twins).

    One ordering at a time: a list sorted by two offered keys at once would have no index to walk. An unknown
    term is ignored, as DRF's own ordering filter does. Lists without `ordering_keys` get DRF's filter as is.
    """

    def get_valid_fields(self, queryset, view, context=None):
        if not pages_by_keyset(view):
            return super().get_valid_fields(queryset, view, context or {})
        return [(name, name) for name in view.ordering_keys]

    def get_default_ordering(self, view):
        if not pages_by_keyset(view):
            return super().get_default_ordering(view)
        return [_default_term(view)]

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        if not pages_by_keyset(view):
            return super().filter_queryset(request, queryset, view)
        _, keys = sort_keys(request, view)
        return ordered(queryset, keys)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        if not pages_by_keyset(view):
            return super().get_schema_operation_parameters(view)
        offered = [term for name in view.ordering_keys for term in (name, f"-{name}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"One of {', '.join(offered)} (`-` reverses; each along its own index). "
                f"Anything else sorts by the default, `{_default_term(view)}`.",
                "schema": {"type": "string", "enum": offered},
            }
        ]


# --- cursors --------------------------------------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder would cut datetimes to milliseconds, and a key must match its row exactly.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(*, ordering: str, values: Sequence[Any], reverse: bool) -> str:
    payload = {"o": ordering, "v": [_encode_value(value) for value in values], "r": reverse}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Cursor(NamedTuple):
    values: list[Any]
    reverse: bool


def decode_cursor(token: str, *, ordering: str, width: int) -> Cursor:
    """The cursor's position; NotFound (404, as DRF answers a bad cursor) if it was not made for this ordering."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, reverse, made_for = payload["v"], bool(payload["r"]), payload["o"]
    except (binascii.Error, ValueError, TypeError, KeyError) as error:
        raise NotFound("Invalid cursor.") from error
    if made_for != ordering or not isinstance(values, list) or len(values) != width:
        raise NotFound("Invalid cursor: it belongs to another ordering; start again without it.")
    return Cursor(values, reverse)


class RowAfter(Expression):
    """`(k1, k2, ...) > (v1, v2, ...)`, or `<` when every key descends: one row comparison, which PostgreSQL (and
    SQLite) answer from the ordering's index starting exactly at the position.

    The expansion in `after()` bounds the scan by its first key only: where many rows share it (600,000 invoices
    on a few dozen issue dates, every usage row of a day), a deep page read and dropped every row of the position's
    date before its own, about 40 ms of the page 2,000 of the invoices list.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, keys: Sequence[Any], values: Sequence[Any], *, descending: bool) -> None:
        super().__init__()
        self.keys = list(keys)
        self.values = list(values)
        self.descending = descending

    def get_source_expressions(self) -> list[Any]:
        return self.keys

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.keys = list(exprs)

    def as_sql(self, compiler, connection) -> tuple[str, tuple[Any, ...]]:
        left, right, params = [], [], []
        for key in self.keys:
            sql, key_params = compiler.compile(key)
            left.append(sql)
            params.extend(key_params)
        for key, value in zip(self.keys, self.values, strict=True):
            # Typed by its key's column: a cursor carries dates, times and decimals as text.
            sql, value_params = compiler.compile(Value(value, output_field=key.output_field))
            right.append(sql)
            params.extend(value_params)
        return f"({', '.join(left)}) {'<' if self.descending else '>'} ({', '.join(right)})", tuple(params)


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> Q | RowAfter:
    """Rows that sort strictly after the position `values` in `keys` order.

    Keys all in one direction (every ordering the lists offer): one row comparison (RowAfter). Otherwise
    (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..., with `k1 >= v1` in front so PostgreSQL starts the index scan
    at the first key's position instead of filtering its way there.
    """
    if len({key.descending for key in keys}) == 1:
        return RowAfter([F(key.alias) for key in keys], values, descending=keys[0].descending)
    strictly = Q()
    for index, key in enumerate(keys):
        equal = {keys[before].alias: values[before] for before in range(index)}
        beyond = f"{key.alias}__{'lt' if key.descending else 'gt'}"
        strictly |= Q(**equal, **{beyond: values[index]})
    first = keys[0]
    return Q(**{f"{first.alias}__{'lte' if first.descending else 'gte'}": values[0]}) & strictly


class KeysetPagination(BasePagination):
    """Cursor pages over a keyset list's ordering: `next` and `previous` links, no COUNT unless `?count=true`.

    `?page=N` still answers offset pages with their count, for clients written before cursors, up to row
    `max_offset` (their cost grows with N); integrations follow `next` instead. A list without `ordering_keys`
    has page numbers only.
    """

    page_size = api_settings.PAGE_SIZE or 50
    max_page_size = StandardPagination.max_page_size
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    count_query_param = "count"
    max_offset = 10_000

    def __init__(self) -> None:
        self.offset_pages: StandardPagination | None = None

    def get_page_size(self, request: Request) -> int:
        try:
            asked = int(request.query_params[self.page_size_query_param])
        except (KeyError, ValueError):
            return self.page_size
        return min(asked, self.max_page_size) if asked > 0 else self.page_size

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list | None:  # type: ignore[override]
        if not pages_by_keyset(view):
            self.offset_pages = StandardPagination()
            return self.offset_pages.paginate_queryset(queryset, request, view)
        if StandardPagination.page_query_param in request.query_params:
            self._refuse_deep_offsets(request)
            self.offset_pages = StandardPagination()
            return self.offset_pages.paginate_queryset(queryset, request, view)
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.ordering, keys = sort_keys(request, view)
        size = self.get_page_size(request)
        self.count = queryset.count() if self._count_asked(request) else None

        token = request.query_params.get(self.cursor_query_param)
        cursor = decode_cursor(token, ordering=self.ordering, width=len(keys)) if token else None
        reverse = cursor is not None and cursor.reverse
        walk = [key.flipped() for key in keys] if reverse else keys
        if reverse:
            queryset = queryset.order_by(*(key.order_by() for key in walk))
        if cursor is not None:
            queryset = queryset.filter(after(walk, cursor.values))
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.keys = keys
        # Going forward there is a page before whenever we came from a cursor, and one after when a row was left
        # over; going back, the other way round.
        self.has_previous, self.has_next = (more, True) if reverse else (cursor is not None, more)
        self.rows = rows
        return rows

    def _refuse_deep_offsets(self, request: Request) -> None:
        """Numbered pages walk past every row before theirs: ?page=2,000 of 100,000 accounts took over a second
        (bench suite 45). They stop at row MAX_OFFSET; cursors go on at the cost of the first page."""
        try:
            page = int(request.query_params[StandardPagination.page_query_param])
        except ValueError:
            return  # "last" or nonsense: DRF's page-number pagination answers it as before
        if (page - 1) * self.get_page_size(request) >= self.max_offset:
            raise ValidationError(
                {
                    StandardPagination.page_query_param: [
                        f"Numbered pages stop at row {self.max_offset:,} on this list: follow `next` (cursor pages) "
                        "to read further."
                    ]
                }
            )

    def _count_asked(self, request: Request) -> bool:
        return request.query_params.get(self.count_query_param, "").lower() in ("1", "true", "yes")

    def _position(self, row) -> list[Any]:
        return [getattr(row, key.alias) for key in self.keys]

    def _link(self, row, *, reverse: bool) -> str:
        cursor = encode_cursor(ordering=self.ordering, values=self._position(row), reverse=reverse)
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.rows:
            return None
        return self._link(self.rows[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.rows:  # past the end: back to the first page
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(self.rows[0], reverse=True)

    def get_paginated_response(self, data) -> Response:
        if self.offset_pages is not None:
            return self.offset_pages.get_paginated_response(data)
        body: dict[str, Any] = {"next": self.get_next_link(), "previous": self.get_previous_link()}
        if self.count is not None:
            body["count"] = self.count
        body["results"] = data
        return Response(body)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "count": {"type": "integer", "description": "On a keyset list only with `?count=true` or `?page=`."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        if not pages_by_keyset(view):
            return StandardPagination().get_schema_operation_parameters(view)
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The page after (or before) another: take it from `next` or `previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, at most {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer"},
            },
            {
                "name": self.count_query_param,
                "required": False,
                "in": "query",
                "description": "`true` adds `count`, the rows in the whole list (one more query).",
                "schema": {"type": "boolean"},
            },
            {
                "name": StandardPagination.page_query_param,
                "required": False,
                "in": "query",
                "description": "Numbered pages with a count, for older clients, up to row 10,000: prefer `cursor`.",
                "schema": {"type": "integer"},
            },
        ]
