"""``facesearch report``: oversight reports aggregated from the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facesearch.cli import common, output
from facesearch.cli.common import Json
from facesearch.errors import FaceSearchError

report_app = typer.Typer(
    help="Oversight reports aggregated from the audit log.", no_args_is_help=True
)


@report_app.command("names")
def names(
    json_out: Json = False,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help="Also list the collisions resolved since (row gone or renamed)."
        ),
    ] = False,
) -> None:
    """Names that migration 0007 left as they were because, in Unicode NFC or by their
    look-alike key, they collide with another row's, and that are still open (the row
    still has that name): resolve each (delete or re-create under a distinct name)."""
    with common.engine() as engine:
        rows = engine.store.catalog.name_collisions(include_resolved=show_all)
    if json_out:
        output.print_json(rows)
        return
    if not rows:
        output.info("no name collisions")
        return
    columns = ["kind", "id", "name", "collides with", "reason"]
    output.print_table(
        "Names that collide (left as they were by migration 0007)",
        [*columns, "resolved"] if show_all else columns,
        [
            [r.kind, r.row_id, ascii(r.name), ascii(r.other), r.reason]
            + (["yes" if r.resolved else "no"] if show_all else [])
            for r in rows
        ],
    )


@report_app.command("usage")
def usage(
    start: Annotated[
        str,
        typer.Option(
            "--from", help="Start of the period, included: YYYY-MM-DD (UTC) or an ISO time."
        ),
    ],
    end: Annotated[
        str,
        typer.Option("--to", help="End of the period, excluded: YYYY-MM-DD (UTC) or an ISO time."),
    ],
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the report as CSV to this file.")
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="Also write PNG plots (searches per day, ...) here."),
    ] = None,
    json_out: Json = False,
) -> None:
    """How search was used in [--from, --to): searches by purpose category, user and
    gallery; verifies; candidates returned; refused and failed calls; leads confirmed;
    erasures and retention purges; failed sign-ins. Read from the audit log only."""
    from facesearch.oversight import parse_period, tables, to_dict, usage_report, write_csv

    period = parse_period(start, end, names=("--from", "--to"))
    with common.engine() as engine:
        report = usage_report(engine.audit, period)
    written: list[Path] = []
    try:
        if csv_path is not None:
            written.append(write_csv(report, csv_path))
        if plots is not None:
            from facesearch.oversight.plots import write_plots

            written.extend(write_plots(report, plots))
    except OSError as err:
        where = err.filename or csv_path or plots
        raise FaceSearchError(f"cannot write {where}: {err.strerror or err}") from err
    if json_out:
        output.print_json(to_dict(report))
        return
    for table in tables(report):
        output.print_table(table.title, list(table.columns), [list(row) for row in table.rows])
    for path in written:
        output.info(f"wrote {path}")
