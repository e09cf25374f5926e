"""The keyword rules of a tenant's opinion themes: each theme is a name, keywords or phrases,
and optional exclusion words. The default set is seed 002 第五篇's four themes (活动形式单一,
开展不平衡, 履职践诺需持之以恒, 信息报送不及时); the tenant admin edits them as text, one theme a
line: ``名称：关键词、关键词；排除：词、词``. ``validate`` refuses bad input with a Chinese message
before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import ThemeRule
from pingyi.tenancy import require_tenant_id

OTHER = "其他"  # the opinions no theme matched; not a name a rule may take
MAX_THEMES = 50
MAX_NAME = 50
MAX_KEYWORDS = 100
MAX_KEYWORD = 50
EXCLUDE_MARK = "排除"


@dataclass(frozen=True)
class Theme:
    name: str
    keywords: tuple[str, ...]
    excludes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {"name": self.name, "keywords": list(self.keywords), "excludes": list(self.excludes)}

    @classmethod
    def from_dict(cls, d: dict) -> Theme:
        return cls(str(d["name"]), tuple(d.get("keywords") or ()), tuple(d.get("excludes") or ()))


DEFAULTS: tuple[Theme, ...] = (
    Theme("活动形式单一", ("形式单一", "形式单调", "内容单调", "花样少", "载体少", "缺乏创新", "千篇一律",
                      "老一套", "老套", "缺乏针对性", "吸引力不足", "吸引力不强", "枯燥")),
    Theme("开展不平衡", ("不平衡", "不均衡", "参差不齐", "冷热不均", "个别单位", "有的单位", "上热下冷",
                    "一头热", "差距较大", "差距大")),
    Theme("履职践诺需持之以恒", ("持之以恒", "坚持", "长效", "长效机制", "常态化", "虎头蛇尾", "走过场",
                         "一阵风", "践诺", "兑现", "承诺", "有始无终")),
    Theme("信息报送不及时", ("报送不及时", "信息报送", "报送", "上报慢", "上报不及时", "信息滞后",
                       "宣传报道", "宣传不够", "宣传不到位", "氛围不浓", "典型事迹")),
)

_SPLIT = re.compile(r"[、,，;；\s/|]+")
_NAME = re.compile(r"[:：]")
_EXCLUDE = re.compile(r"[;；]\s*" + EXCLUDE_MARK + r"\s*[:：]")


def _terms(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for t in _SPLIT.split(text or ""):
        if t.strip():
            seen.setdefault(t.strip(), None)
    return tuple(seen)


def parse_text(text: str) -> list[Theme]:
    """The rules as the admin typed them (blank lines skipped); no checks (``validate``)."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = _NAME.split(line, maxsplit=1)
        name, rest = parts[0].strip(), (parts[1] if len(parts) > 1 else "")
        keywords, excludes = ([*_EXCLUDE.split(rest, maxsplit=1), ""])[:2]
        out.append(Theme(name, _terms(keywords), _terms(excludes)))
    return out


def format_text(rules: list[Theme] | tuple[Theme, ...]) -> str:
    """The rules as the edit box shows them (``parse_text`` reads it back)."""
    lines = []
    for t in rules:
        line = f"{t.name}：{'、'.join(t.keywords)}"
        if t.excludes:
            line += f"；{EXCLUDE_MARK}：{'、'.join(t.excludes)}"
        lines.append(line)
    return "\n".join(lines)


def validate(rules: list[Theme]) -> list[Theme]:
    """The rules, or a ``DomainError`` naming the first problem (line numbers from 1)."""
    if not rules:
        raise DomainError(_("请至少填写一个主题"), "rules")
    if len(rules) > MAX_THEMES:
        raise DomainError(_("主题不能超过 %(n)d 个", n=MAX_THEMES), "rules")
    names: set[str] = set()
    for i, t in enumerate(rules, start=1):
        if not t.name:
            raise DomainError(_("第 %(i)d 行：主题名称不能为空", i=i), "rules")
        if len(t.name) > MAX_NAME:
            raise DomainError(_("第 %(i)d 行：主题名称不能超过 %(n)d 字", i=i, n=MAX_NAME), "rules")
        if t.name == OTHER:
            raise DomainError(_("第 %(i)d 行：“%(name)s”是未归类意见的名称，请换一个主题名称", i=i, name=OTHER), "rules")
        if t.name in names:
            raise DomainError(_("第 %(i)d 行：主题“%(name)s”重复", i=i, name=t.name), "rules")
        names.add(t.name)
        if not t.keywords:
            raise DomainError(_("第 %(i)d 行：主题“%(name)s”至少需要一个关键词", i=i, name=t.name), "rules")
        if len(t.keywords) + len(t.excludes) > MAX_KEYWORDS:
            raise DomainError(_("第 %(i)d 行：关键词和排除词合计不能超过 %(n)d 个", i=i, n=MAX_KEYWORDS), "rules")
        if any(len(w) > MAX_KEYWORD for w in (*t.keywords, *t.excludes)):
            raise DomainError(_("第 %(i)d 行：每个关键词不能超过 %(n)d 字", i=i, n=MAX_KEYWORD), "rules")
    return list(rules)


# ---- the tenant's rules ------------------------------------------------------------------------

def current() -> list[Theme]:
    """The current tenant's rules, or the default set while it has none of its own."""
    rows = db.session.execute(select(ThemeRule).order_by(ThemeRule.position, ThemeRule.id)).scalars().all()
    if not rows:
        return list(DEFAULTS)
    return [Theme(r.name, tuple(r.keywords or ()), tuple(r.excludes or ())) for r in rows]


def is_default() -> bool:
    return db.session.execute(select(ThemeRule.id).limit(1)).first() is None


def save(themes: list[Theme]) -> list[Theme]:
    """Replace the tenant's rules after ``validate`` (a refusal stores nothing); the caller commits."""
    themes = validate(themes)
    for row in db.session.execute(select(ThemeRule)).scalars():
        db.session.delete(row)
    db.session.flush()  # the old names go before the new ones (unique per tenant) arrive
    tenant_id = require_tenant_id()
    for i, t in enumerate(themes):
        db.session.add(ThemeRule(tenant_id=tenant_id, position=i, name=t.name, keywords=list(t.keywords),
                                 excludes=list(t.excludes)))
    db.session.flush()
    return themes


def save_text(text: str) -> list[Theme]:
    return save(parse_text(text))


def reset() -> None:
    """Back to the default set (the tenant's own rules deleted); the caller commits."""
    for row in db.session.execute(select(ThemeRule)).scalars():
        db.session.delete(row)
    db.session.flush()
