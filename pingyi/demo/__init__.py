"""Demo tenants and generated ballots at the seeds' scale."""

from __future__ import annotations

from flask import current_app

from pingyi.errors import DomainError
from pingyi.i18n import _


def refuse_in_production() -> None:
    """The demo's links are derived from their campaign, unit and number (so that a rerun finds
    them again), hence guessable, and its accounts share a published password: never in
    production."""
    if current_app.config.get("ENV_NAME") == "production":
        raise DomainError(_("生产环境（PINGYI_ENV=production）不能加载演示数据：演示的测评链接按固定规则生成，"
                            "可以被猜出，演示账号的密码也是公开的。"))
