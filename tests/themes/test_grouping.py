"""The pure grouping of opinions into themes (jieba words + keyword rules) and the rules'
text format and checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pingyi.errors import DomainError
from pingyi.themes import grouping, rules
from pingyi.themes.rules import DEFAULTS, OTHER, Theme

# In the voice of seed 002 第五篇's 征求意见表: (text, the default themes it belongs to)
OPINIONS = [
    ("部分基层组织开展的活动形式单一，内容单调，缺乏针对性，对党员群众的吸引力不足。", {"活动形式单一"}),
    ("创先争优活动形式单调，每次都是开会学文件，建议多搞一些实践活动。", {"活动形式单一"}),
    ("活动载体少，缺乏创新，年轻党员参与的积极性不高。", {"活动形式单一"}),
    ("主题党日千篇一律，还是老一套，希望丰富活动内容。", {"活动形式单一"}),
    ("各单位活动开展情况不平衡，有的搞得红红火火，有的冷冷清清。", {"开展不平衡"}),
    ("基层支部之间参差不齐，建议加强对后进支部的指导。", {"开展不平衡"}),
    ("机关和一线冷热不均，一线职工参与得少。", {"开展不平衡"}),
    ("个别单位对评议工作重视不够，只是应付检查。", {"开展不平衡"}),
    ("就履职践诺上还需要持之以恒，不能虎头蛇尾。", {"履职践诺需持之以恒"}),
    ("公开承诺的事项要及时兑现，接受群众监督。", {"履职践诺需持之以恒"}),
    ("希望建立长效机制，避免评议走过场。", {"履职践诺需持之以恒"}),
    ("为民办实事要坚持下去，不能一阵风。", {"履职践诺需持之以恒"}),
    ("有些信息报送工作不及时，活动的特色亮点不能被很好地宣传报道。", {"信息报送不及时"}),
    ("先进典型事迹宣传不够，活动氛围不浓。", {"信息报送不及时"}),
    ("支部的工作信息滞后，上报慢，上级掌握不到真实情况。", {"信息报送不及时"}),
    ("个别单位信息报送不及时，评议结果公示也晚。", {"开展不平衡", "信息报送不及时"}),
    ("领导班子团结协作，服务意识强，群众满意。", set()),
    ("建议改善职工食堂的伙食，增加夜班补贴。", set()),
    ("党员干部作风扎实，能够深入一线解决实际问题。", set()),
    ("希望多组织业务培训，提高服务水平。", set()),
]


def test_seed_like_opinions_fall_in_the_default_themes():
    groups = grouping.group(enumerate(t for t, _themes in OPINIONS), DEFAULTS)
    assert list(groups) == [t.name for t in DEFAULTS] + [OTHER]
    for i, (text, expected) in enumerate(OPINIONS):
        found = {name for name, ids in groups.items() if i in ids}
        assert found == (expected or {OTHER}), text
    assert len(groups["活动形式单一"]) == 4
    assert sorted(groups["开展不平衡"]) == [4, 5, 6, 7, 15]
    assert len(groups[OTHER]) == 4


def test_a_word_keyword_matches_whole_words_only_a_phrase_as_substring():
    rule = [Theme("坚持", ("坚持",)), Theme("报送", ("报送不及时",))]
    assert grouping.themes_of("我们坚持不懈地工作", rule) == [OTHER]  # 坚持不懈 is one word
    assert grouping.themes_of("工作要坚持，不能停", rule) == ["坚持"]
    assert grouping.themes_of("信息报送不及时", rule) == ["报送"]
    assert grouping.themes_of("ＡＢＣ 报送 不 及时", [Theme("x", ("abc",))]) == ["x"]  # full width, case, spaces


def test_exclusion_words_and_several_themes():
    rule = [Theme("承诺", ("承诺",), ("已兑现",)), Theme("兑现", ("兑现",))]
    assert grouping.themes_of("承诺的事项已兑现", rule) == ["兑现"]
    assert grouping.themes_of("承诺的事项尚未兑现", rule) == ["承诺", "兑现"]


def test_equal_texts_keep_their_ids():
    groups = grouping.group([("a", "形式单一"), ("b", "形式单一"), ("c", "很好")], DEFAULTS)
    assert groups["活动形式单一"] == ["a", "b"] and groups[OTHER] == ["c"]


def test_text_format_round_trip():
    text = rules.format_text(DEFAULTS)
    assert text.splitlines()[0].startswith("活动形式单一：形式单一、形式单调")
    assert tuple(rules.parse_text(text)) == DEFAULTS
    parsed = rules.parse_text("承诺：承诺，兑现 践诺；排除：已兑现、已完成\n\n  上报:上报慢 ")
    assert parsed == [Theme("承诺", ("承诺", "兑现", "践诺"), ("已兑现", "已完成")), Theme("上报", ("上报慢",))]


@pytest.mark.parametrize(("text", "message"), [
    ("", "请至少填写一个主题"),
    ("：形式单一", "第 1 行：主题名称不能为空"),
    ("甲：a\n" + "长" * 51 + "：形式单一", "第 2 行：主题名称不能超过 50 字"),
    ("活动形式单一", "第 1 行：主题“活动形式单一”至少需要一个关键词"),
    ("活动形式单一：；排除：好", "第 1 行：主题“活动形式单一”至少需要一个关键词"),
    ("\n".join(f"主题{i}：词{i}" for i in range(51)), "主题不能超过 50 个"),
    ("其他：没有", "第 1 行：“其他”是未归类意见的名称，请换一个主题名称"),
    ("甲：a\n甲：b", "第 2 行：主题“甲”重复"),
    ("甲：" + "字" * 51, "第 1 行：每个关键词不能超过 50 字"),
])
def test_bad_rules_are_refused(text, message):
    with pytest.raises(DomainError) as exc:
        rules.validate(rules.parse_text(text))
    assert exc.value.message == message


def test_jieba_is_quiet_and_works_with_a_read_only_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    code = ("from pingyi.themes import grouping, rules;"
            "print(grouping.themes_of('活动形式单一，缺乏创新', rules.DEFAULTS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['活动形式单一']"
    assert out.stderr == ""
