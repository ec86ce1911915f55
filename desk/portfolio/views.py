"""The portfolio page and each chart's CSV (`?format=csv&chart=<name>`, with the page's filters)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from accounts.money.selectors import reporting_currency
from users.permissions import oversight

from ..http import DeskRequest
from . import selectors
from .forms import PortfolioFilterForm, PortfolioFilters
from .tables import CHART_NAMES, TABLE_NAMES, chart_data, tables


def portfolio(request: DeskRequest) -> HttpResponse | StreamingHttpResponse:
    """Managers and admins read their team's or the whole book; a CSM gets the same page over their own book."""
    params = request.GET.copy()
    default = PortfolioFilters.default()
    # Bound with the default period filled in, so the form shows the dates the charts cover.
    params.setdefault("since", default.since.isoformat())
    params.setdefault("until", default.until.isoformat())
    form = PortfolioFilterForm(params, user=request.user)
    wants_csv = request.GET.get("format") == "csv"
    chart = request.GET.get("chart", "")
    if wants_csv and chart not in TABLE_NAMES:
        return HttpResponse(f"Unknown chart {chart!r}.", status=400, content_type="text/plain")
    if not form.is_valid():
        if wants_csv:
            return HttpResponse("Invalid filters.", status=400, content_type="text/plain")
        return render(
            request, "desk/portfolio/portfolio.html", {"form": form, "scope": oversight(request.user)}, status=400
        )
    filters = form.filters()
    data = selectors.portfolio(request.user, filters)
    all_tables = tables(data)
    if wants_csv:
        table = all_tables[chart]
        response = StreamingHttpResponse(table.csv_lines(), content_type="text/csv")
        stamp = filters.until.isoformat()
        response["Content-Disposition"] = f'attachment; filename="baton-portfolio-{chart}-{stamp}.csv"'
        return response
    params.pop("format", None)
    params.pop("chart", None)
    context = {
        "form": form,
        "scope": oversight(request.user),
        "portfolio": data,
        "tables": all_tables,
        "charts": chart_data(data),
        "chart_names": CHART_NAMES,
        "query_string": params.urlencode(),
        "currency": reporting_currency(),
    }
    return render(request, "desk/portfolio/portfolio.html", context)
