"""Result rules as data (metric, comparison, threshold, outcome), their presets from the
seeds, and their evaluation. Pure functions: figures in, verdicts out; thresholds are exact
fractions so "超过三分之一" means > 1/3, not > 0.333."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from pingyi.errors import DomainError
from pingyi.i18n import _

METRICS = {
    "satisfied_share": "满意率",
    "lowest_share": "不满意票占比",
    "not_satisfied_share": "一般和不满意占比",
    "turnout": "参评率",
}
OPS = {"lt": "低于", "le": "不高于", "gt": "超过", "ge": "不低于"}
APPLIES = {"any": "全部对象", "unit": "基层党组织", "person": "党员", "team": "领导班子"}
SEVERITIES = {"action": "处理", "warning": "提醒"}


@dataclass(frozen=True)
class RuleSpec:
    metric: str
    op: str
    threshold: str
    outcome: str
    applies_to: str = "any"
    group: str = ""
    severity: str = "action"
    source: str = ""

    @property
    def fraction(self) -> Fraction:
        return parse_threshold(self.threshold)

    def matches(self, value: Fraction) -> bool:
        t = self.fraction
        return {"lt": value < t, "le": value <= t, "gt": value > t, "ge": value >= t}[self.op]

    def describe(self) -> str:
        return f"{METRICS[self.metric]}{OPS[self.op]}{self.threshold} → {self.outcome}"


PRESETS: dict[str, dict] = {
    "seed001-3": {"name": "满意率低于60%整改；不满意票超过1/3基本称职、超过2/3不称职（篇3）", "rules": [
        RuleSpec("satisfied_share", "lt", "60%", "限期整改，本年度不得评先评优", "any", "rectify", "action",
                 "种子001 篇3"),
        RuleSpec("lowest_share", "gt", "1/3", "党支部书记年度考核为基本称职", "unit", "secretary", "action",
                 "种子001 篇3"),
        RuleSpec("lowest_share", "gt", "2/3", "党支部书记年度考核为不称职", "unit", "secretary", "action",
                 "种子001 篇3"),
    ]},
    "seed004": {"name": "领导班子满意率低于2/3返工补课（种子004）", "rules": [
        RuleSpec("satisfied_share", "lt", "2/3", "返工补课", "team", "redo", "action", "种子004 五.8"),
    ]},
    "seed001-5": {"name": "工作实绩不满意率超过1/3不得表彰；一般和不满意超过1/2不能定为称职（篇5）", "rules": [
        RuleSpec("lowest_share", "gt", "1/3", "不得作为表彰或评先推荐对象，主要负责人诫勉谈话", "unit", "award",
                 "action", "种子001 篇5"),
        RuleSpec("not_satisfied_share", "gt", "1/2", "年度考核不能定为称职及以上等次", "person", "competence",
                 "action", "种子001 篇5"),
    ]},
    "seed003": {"name": "参评率低于80%提醒（种子003）", "rules": [
        RuleSpec("turnout", "lt", "80%", "参评率不足80%", "any", "turnout", "warning", "种子003 二.2"),
    ]},
}

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_DECIMAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_CHINESE = {"三分之一": "1/3", "三分之二": "2/3", "二分之一": "1/2", "四分之三": "3/4", "五分之四": "4/5"}


def parse_threshold(text: str) -> Fraction:
    """``60%``, ``0.6``, ``3/5`` or ``三分之二`` → an exact fraction in [0, 1]."""
    text = _CHINESE.get(str(text).strip(), str(text))
    if m := _PERCENT.match(text):
        value = Fraction(m.group(1)) / 100
    elif m := _FRACTION.match(text):
        if int(m.group(2)) == 0:
            raise DomainError(_("阈值“%(t)s”的分母不能为 0", t=text), "threshold")
        value = Fraction(int(m.group(1)), int(m.group(2)))
    elif m := _DECIMAL.match(text):
        value = Fraction(m.group(1))
    else:
        raise DomainError(_("无法识别阈值“%(t)s”，请写成 60%%、0.6 或 2/3", t=text), "threshold")
    if not 0 <= value <= 1:
        raise DomainError(_("阈值“%(t)s”应在 0 到 1（100%%）之间", t=text), "threshold")
    return value


def validate_rule(data: dict) -> RuleSpec:
    if not isinstance(data, dict):
        raise DomainError(_("规则格式不正确"), "rules")
    data = {k: v if isinstance(v, str | int | float) or v is None else repr(v) for k, v in data.items()}
    metric, op = data.get("metric"), data.get("op")
    if metric not in METRICS:
        raise DomainError(_("未知的指标“%(m)s”", m=metric), "metric")
    if op not in OPS:
        raise DomainError(_("未知的比较方式“%(op)s”", op=op), "op")
    threshold = str(data.get("threshold", "")).strip()
    parse_threshold(threshold)
    outcome = str(data.get("outcome", "")).strip()
    if not outcome or len(outcome) > 100:
        raise DomainError(_("规则结果不能为空，且不超过 100 字"), "outcome")
    applies = data.get("applies_to") or "any"
    if applies not in APPLIES:
        raise DomainError(_("未知的适用对象“%(a)s”", a=applies), "applies_to")
    severity = data.get("severity") or "action"
    if severity not in SEVERITIES:
        raise DomainError(_("未知的规则级别“%(s)s”", s=severity), "severity")
    return RuleSpec(metric, op, threshold, outcome, applies, str(data.get("group") or "")[:30], severity,
                    str(data.get("source") or "")[:100])


def evaluate(rules: list[RuleSpec], figures: dict[str, Fraction | None], subject_kind: str) -> list[RuleSpec]:
    """The rules that apply to one subject's figures. Within a non-empty ``group`` only the
    last matching rule (in list order) counts: >2/3 不称职 replaces >1/3 基本称职.
    A figure that is ``None`` (no valid answers) matches nothing."""
    hits: dict[str, RuleSpec] = {}
    ungrouped: list[RuleSpec] = []
    for rule in rules:
        if rule.applies_to not in ("any", subject_kind):
            continue
        value = figures.get(rule.metric)
        if value is None or not rule.matches(Fraction(value)):
            continue
        if rule.group:
            hits[rule.group] = rule
        else:
            ungrouped.append(rule)
    order = {id(r): i for i, r in enumerate(rules)}
    return sorted([*hits.values(), *ungrouped], key=lambda r: order[id(r)])
