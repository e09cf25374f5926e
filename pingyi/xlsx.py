"""The one way the app writes .xlsx files: an xlsxwriter workbook whose cells hold what they
are given and nothing a spreadsheet would run.

Names and texts that people type (a campaign, a form item, a choice, a unit, a tenant, an
opinion) end up in report cells. xlsxwriter's ``write()`` turns a string starting with "=" into
a formula and one starting with "http://" into a link, and Excel or LibreOffice evaluate a text
starting with = + - @ (or a tab or CR before one) as soon as somebody edits the cell or saves it
as CSV (OWASP "CSV injection"). So here every string is written as a string, and a string that
starts like a formula gets a leading apostrophe, which shows the text as typed (quote and all)
and is never evaluated. Numbers, booleans and blanks are written as they are.
"""

from __future__ import annotations

from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# write() never guesses a formula, a link or a number from a string.
_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def neutral(text: str) -> str:
    """``text`` as a spreadsheet shows it but never evaluates it (OWASP: prefix a single quote)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWorksheet(Worksheet):
    """A worksheet that neutralises every string it stores: ``write``, ``write_string``,
    ``write_row``/``write_column`` and ``merge_range`` all store strings through
    ``_write_string`` (tests/reports/test_formula_injection.py holds every one of them to it)."""

    def _write_string(self, row: int, col: int, string: str, cell_format: Any = None) -> int:
        return super()._write_string(row, col, neutral(string), cell_format)


class Workbook(xlsxwriter.Workbook):
    """``xlsxwriter.Workbook`` with safe worksheets and no guessing from strings; takes the
    same arguments (e.g. ``{"constant_memory": True}``)."""

    worksheet_class = SafeWorksheet

    def __init__(self, filename: Any = None, options: dict | None = None) -> None:
        super().__init__(filename, {**(options or {}), **_OPTIONS})
