"""The oversight page: the usage report's tables and plots, and its CSV, for auditors.

Same permission as reading the audit log. Plots are rendered server-side as PNG and
embedded in the page as ``data:`` URIs, so the page is one request and keeps no files.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from facesearch.auth import Action
from facesearch.errors import FaceSearchError
from facesearch.oversight import Period, last_days, parse_period, tables, to_csv, usage_report
from facesearch.oversight.plots import render_plots
from facesearch.oversight.purpose import CATEGORIES, OTHER
from facesearch.web.pages import _caller, _render

router = APIRouter(prefix="/ui", include_in_schema=False)

DEFAULT_DAYS = 30
"""Without ``from`` and ``to`` the page shows the last 30 UTC days, today included."""


def _period(request: Request) -> Period:
    q = request.query_params
    start, end = (q.get("from") or "").strip(), (q.get("to") or "").strip()
    if not start and not end:
        return last_days(DEFAULT_DAYS)
    return parse_period(start[:40], end[:40])


@router.get("/oversight")
def oversight_page(request: Request) -> HTMLResponse:
    caller = _caller(request, Action.AUDIT_READ)
    q = request.query_params
    form = {"from": q.get("from", "")[:40], "to": q.get("to", "")[:40]}
    try:
        period = _period(request)
    except FaceSearchError as err:
        return _render(
            request, "oversight.html", caller, err.http_status,
            page="oversight", form=form, error=err.message, tables=[], plots={},
        )  # fmt: skip
    report = usage_report(caller.engine.audit, period)
    plots = {
        name: "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        for name, data in render_plots(report).items()
    }
    if not form["from"] and not form["to"]:
        form = {"from": period.start.date().isoformat(), "to": period.end.date().isoformat()}
    return _render(
        request,
        "oversight.html",
        caller,
        page="oversight",
        form=form,
        report=report,
        tables=tables(report),
        plots=plots,
        csv_query=urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()}),
        categories=[(name, sorted(words)) for name, words in CATEGORIES],
        other=OTHER,
    )


@router.get("/oversight/usage.csv")
def oversight_csv(request: Request) -> Response:
    caller = _caller(request, Action.AUDIT_READ)
    period = _period(request)
    report = usage_report(caller.engine.audit, period)
    name = f"usage-{period.start.date().isoformat()}-{period.end.date().isoformat()}.csv"
    return Response(
        to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
