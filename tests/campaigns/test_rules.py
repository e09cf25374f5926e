"""Rules are data; thresholds are exact fractions; groups keep verdicts exclusive."""

from fractions import Fraction as F

import pytest

from pingyi.campaigns.rules import PRESETS, RuleSpec, evaluate, parse_threshold, validate_rule
from pingyi.errors import DomainError


@pytest.mark.parametrize("text,value", [("60%", F(3, 5)), ("0.6", F(3, 5)), ("2/3", F(2, 3)), ("三分之一", F(1, 3)),
                                        ("80 %", F(4, 5)), ("1", F(1))])
def test_thresholds(text, value):
    assert parse_threshold(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1/0", "120%", "1.5", "-1"])
def test_bad_thresholds(text):
    with pytest.raises(DomainError):
        parse_threshold(text)


def test_seed001_3_secretary_verdicts_are_exclusive_and_exact():
    rules = PRESETS["seed001-3"]["rules"]
    outcome = lambda lowest, sat: [r.outcome for r in evaluate(rules, {"lowest_share": lowest,  # noqa: E731
                                                                       "satisfied_share": sat}, "unit")]
    assert outcome(F(1, 3), F(2, 3)) == []  # exactly one third is not "超过三分之一"
    assert outcome(F(34, 100), F(66, 100)) == ["党支部书记年度考核为基本称职"]
    assert outcome(F(2, 3), F(1, 3)) == ["限期整改，本年度不得评先评优", "党支部书记年度考核为基本称职"]
    assert outcome(F(67, 100), F(33, 100)) == ["限期整改，本年度不得评先评优", "党支部书记年度考核为不称职"]
    assert outcome(F(0), F(59, 100)) == ["限期整改，本年度不得评先评优"]
    assert outcome(F(0), F(60, 100)) == []  # 60% is not below 60%


def test_applies_to_kind_and_missing_figures():
    rules = PRESETS["seed004"]["rules"] + PRESETS["seed001-5"]["rules"]
    assert [r.outcome for r in evaluate(rules, {"satisfied_share": F(1, 2)}, "team")] == ["返工补课"]
    assert evaluate(rules, {"satisfied_share": F(1, 2)}, "unit") == []
    assert [r.outcome for r in evaluate(rules, {"not_satisfied_share": F(51, 100)}, "person")] == \
        ["年度考核不能定为称职及以上等次"]
    assert evaluate(rules, {"not_satisfied_share": None}, "person") == []


def test_validate_rule_messages():
    ok = validate_rule({"metric": "turnout", "op": "lt", "threshold": "80%", "outcome": "提醒"})
    assert ok == RuleSpec("turnout", "lt", "80%", "提醒")
    for bad, field in [({"metric": "x"}, "metric"), ({"metric": "turnout", "op": "eq"}, "op"),
                       ({"metric": "turnout", "op": "lt", "threshold": "2"}, "threshold"),
                       ({"metric": "turnout", "op": "lt", "threshold": "1/2", "outcome": ""}, "outcome")]:
        with pytest.raises(DomainError) as info:
            validate_rule(bad)
        assert info.value.field == field


@pytest.mark.parametrize("bad", [{"metric": []}, {"metric": "turnout", "op": {"x": 1}}, "rule"])
def test_validate_rule_rejects_non_scalars(bad):
    with pytest.raises(DomainError):
        validate_rule(bad)
