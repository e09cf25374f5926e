"""How a page runs a write: one domain call, committed — or rolled back with its refusal
flashed. Every page's POST goes through ``attempt`` after its form validated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import flash
from flask_wtf import FlaskForm

from pingyi.errors import DomainError
from pingyi.extensions import db


class Attempt(NamedTuple):
    ok: bool
    value: Any = None  # what the domain call returned (the row it made, a count…)


def attempt(action: Callable[[], Any]) -> Attempt:
    """Run ``action`` (a domain write) and commit; a ``DomainError`` rolls back and is flashed.
    Arguments that may be refused belong inside ``action``, so their refusal is caught too."""
    try:
        value = action()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return Attempt(False)
    return Attempt(True, value)


def submitted(form: FlaskForm) -> bool:
    """``validate_on_submit``, flashing what was wrong with a posted form (pages whose inputs are
    written by hand show no per-field errors): bad input is refused aloud, never dropped."""
    if form.validate_on_submit():
        return True
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        for error in errors:
            flash(f"{label}：{error}", "error")
    return False
