"""Small-cell suppression: a breakdown (by evaluator category, or a subject's comments by
category) that rests on fewer than k ballots is not shown or exported; its cell reads "<k".
With three 群众 rating a branch secretary, their category's rate would tell who said what.

k is the ``MIN_CELL`` setting (``PINGYI_MIN_CELL``, default 5). Ballot counts are exact,
counted in SQL per campaign (bound to the tenant like every raw query)."""

from __future__ import annotations

from flask import current_app, has_app_context

from pingyi.tenancy import tenant_sql

DEFAULT_K = 5

# Distinct ballots per subject × category over answers and comments: a ballot that only wrote
# an opinion still counts towards the group its opinion would be shown under.
_BY_SUBJECT_CATEGORY = (
    "SELECT subject_id, category_id, COUNT(DISTINCT ballot_id) FROM ("
    " SELECT subject_id, category_id, ballot_id FROM answers WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id{one}"
    " UNION ALL"
    " SELECT subject_id, category_id, ballot_id FROM comments WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id{one}"
    ") x GROUP BY subject_id, category_id")
_BY_CATEGORY = ("SELECT category_id, COUNT(*) FROM ballots WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id "
                "GROUP BY category_id")


def min_cell() -> int:
    """k: the fewest ballots a shown breakdown may rest on."""
    return int(current_app.config.get("MIN_CELL", DEFAULT_K)) if has_app_context() else DEFAULT_K


def hidden(ballots: int, k: int | None = None) -> bool:
    """True where a breakdown over ``ballots`` ballots must not be shown."""
    return ballots < (min_cell() if k is None else k)


def label(k: int | None = None) -> str:
    """What a suppressed cell reads: "<5"."""
    return f"<{min_cell() if k is None else k}"


def category_name(name: str, ballots: int) -> str:
    """An opinion's category as shown: its name, or "<k" where fewer than k ballots stand behind it."""
    return label() if hidden(ballots) else name


def ballots_by_category(campaign_id: int) -> dict[int, int]:
    return {int(k): int(n) for k, n in tenant_sql(_BY_CATEGORY, campaign_id=campaign_id).all()}


def ballots_by_subject_category(campaign_id: int, subject_id: int | None = None) -> dict[tuple[int, int], int]:
    sql = _BY_SUBJECT_CATEGORY.format(one=" AND subject_id = :subject_id" if subject_id is not None else "")
    return {(int(s), int(k)): int(n) for s, k, n in tenant_sql(sql, campaign_id=campaign_id,
                                                                subject_id=subject_id).all()}
