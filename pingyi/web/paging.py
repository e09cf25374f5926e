"""One way to page a listing. Pages use Flask-SQLAlchemy's pagination (``?page=``, clamped to
the last page) and the ``pager`` macro of ``_pager.html``; the JSON API takes ``limit`` and
``offset`` (``window``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from pingyi.extensions import db


class _ListPagination(Pagination):
    """A list already in memory (sorted in Python), paged like a query."""

    def _query_items(self) -> list[Any]:
        start = self._query_offset
        return self._query_args["items"][start:start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


class _FetchedPagination(Pagination):
    """A page the domain fetched itself, sorted and paged by the database, with its total:
    ``fetch(page, per_page) -> (total, items)``, called once per page."""

    def _fetched(self) -> tuple[int, list[Any]]:
        args = self._query_args
        if "result" not in args:
            args["result"] = args["fetch"](self.page, self.per_page)
        return args["result"]

    def _query_items(self) -> list[Any]:
        return self._fetched()[1]

    def _query_count(self) -> int:
        return self._fetched()[0]


def _clamped(make) -> Pagination:
    p = make(None)
    if p.page > 1 and p.page > p.pages:
        p = make(max(p.pages, 1))
    return p


def paginate(stmt: Select, per_page: int) -> Pagination:
    """The request's page of a select (one entity per row), with its total."""
    return _clamped(lambda page: db.paginate(stmt, page=page, per_page=per_page, max_per_page=per_page,
                                             error_out=False))


def paginate_list(items: list[Any], per_page: int) -> Pagination:
    """The request's page of a list."""
    return _clamped(lambda page: _ListPagination(page=page, per_page=per_page, max_per_page=per_page,
                                                 error_out=False, items=items))


def paginate_fetched(fetch: Callable[[int, int], tuple[int, list[Any]]], per_page: int) -> Pagination:
    """The request's page of a listing the domain sorts and pages in SQL itself."""
    return _clamped(lambda page: _FetchedPagination(page=page, per_page=per_page, max_per_page=per_page,
                                                    error_out=False, fetch=fetch))


def window(default: int = 1000, maximum: int = 10000) -> tuple[int, int]:
    """The API's ``limit`` (at most ``maximum``) and ``offset`` from the query string."""
    limit = max(min(request.args.get("limit", default, type=int), maximum), 0)
    return limit, max(request.args.get("offset", 0, type=int), 0)
