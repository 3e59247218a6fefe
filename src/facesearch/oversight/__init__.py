"""Oversight: the usage report, aggregated from the audit log alone (no table of its own).

:func:`usage_report` reads the events of a :class:`Period` through the audit log and counts
searches (by purpose category, user, gallery, day), verifies, candidates returned, refused
and failed calls, confirmed leads, erasures, retention purges and failed sign-ins.
:mod:`~facesearch.oversight.export` renders it as tables and CSV, :mod:`.plots` as PNGs.
"""

from facesearch.oversight.export import ReportTable, tables, to_csv, to_dict, write_csv
from facesearch.oversight.period import Period, last_days, parse_period
from facesearch.oversight.purpose import CATEGORIES, CATEGORY_NAMES, OTHER, purpose_category
from facesearch.oversight.usage import UsageReport, aggregate, usage_report

__all__ = [
    "CATEGORIES",
    "CATEGORY_NAMES",
    "OTHER",
    "Period",
    "ReportTable",
    "UsageReport",
    "aggregate",
    "last_days",
    "parse_period",
    "purpose_category",
    "tables",
    "to_csv",
    "to_dict",
    "usage_report",
    "write_csv",
]
