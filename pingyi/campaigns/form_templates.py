"""Built-in scales and forms, in the users' own words (seeds 001–004). Plain data in the
document format of ``campaigns.questionnaire``; tenants copy them, never edit them in place."""

from __future__ import annotations

SCALES: dict[str, dict] = {
    "satisfaction4": {"name": "满意度（四级）", "choices": [
        {"label": "满意", "score": 4, "satisfied": True},
        {"label": "比较满意", "score": 3, "satisfied": True},
        {"label": "不太满意", "score": 2, "satisfied": False},
        {"label": "不满意", "score": 1, "satisfied": False}]},
    "satisfaction3": {"name": "满意度（三级）", "choices": [
        {"label": "满意", "score": 3, "satisfied": True},
        {"label": "一般", "score": 2, "satisfied": False},
        {"label": "不满意", "score": 1, "satisfied": False}]},
    "good3": {"name": "好/一般/差", "choices": [
        {"label": "好", "score": 3, "satisfied": True},
        {"label": "一般", "score": 2, "satisfied": False},
        {"label": "差", "score": 1, "satisfied": False}]},
    "competence4": {"name": "优秀/称职/基本称职/不称职", "choices": [
        {"label": "优秀", "score": 4, "satisfied": True},
        {"label": "称职", "score": 3, "satisfied": True},
        {"label": "基本称职", "score": 2, "satisfied": False},
        {"label": "不称职", "score": 1, "satisfied": False}]},
}

COMMENT = {"text": "意见建议", "kind": "text", "required": False, "max_length": 500}


def _form(name: str, subject_kind: str, scale: str, sections: list[tuple[str, list[str]]], source: str,
          comment: bool = True) -> dict:
    doc_sections = [{"title": title, "items": [{"text": t, "kind": "rating", "scale": scale} for t in items]}
                    for title, items in sections]
    if comment:
        doc_sections.append({"title": "意见建议", "items": [dict(COMMENT)]})
    return {"name": name, "subject_kind": subject_kind, "description": source,
            "scales": [{"key": scale, **SCALES[scale]}], "sections": doc_sections}


TEMPLATES: dict[str, dict] = {
    "seed002-org": _form("基层党组织开展创先争优活动群众评议表", "unit", "satisfaction4", [("评议内容", [
        "兑现创先争优公开承诺情况",
        "推动中心工作和重点任务完成情况",
        "为群众办实事做好事解难事情况",
        "加强党组织和党员队伍建设情况",
        "对党组织开展创先争优活动的总体评价",
    ])], "平庄煤业公司群众评议工作总结（种子 002）"),
    "seed002-member": _form("党员参加创先争优活动群众评议表", "person", "satisfaction4", [("评议内容", [
        "参加创先争优活动践行公开承诺情况",
        "立足本职岗位创先争优情况",
        "联系和服务群众情况",
    ])], "平庄煤业公司群众评议工作总结（种子 002）"),
    "seed003-org": _form("基层党组织开展创先争优活动满意度测评表", "unit", "satisfaction4", [("评议内容", [
        "推动中心工作和重点任务完成情况",
        "兑现公开承诺及为师生员工办实事、办好事情况",
        "开展创先争优活动的总体情况",
    ])], "群众评议工作指导意见 一（一）（种子 003）"),
    "seed003-member": _form("党员参加创先争优活动满意度测评表", "person", "satisfaction4", [("评议内容", [
        "立足本职岗位，争创佳绩情况",
        "践行公开承诺及联系和服务群众情况",
        "参加创先争优活动的总体情况",
    ])], "群众评议工作指导意见 一（二）（种子 003）"),
    "seed004-team": _form("“学习教育、听取意见”环节群众评价表", "team", "good3", [
        ("总体评价", ["总体评价"]),
        ("学习教育情况", [
            "学习教育组织情况",
            "规定内容学习情况",
            "弘扬焦裕禄精神，“六问六带头”情况",
            "集中学习和专题讨论情况",
            "党员领导干部思想认识提高情况",
        ]),
        ("听取意见情况", [
            "广泛宣传发动听取意见情况",
            "带着问题下基层、蹲点调研听取意见情况",
            "畅通民意渠道听取意见情况",
            "意见梳理认领、分类建台账情况",
            "“四风”问题查找情况",
        ]),
        ("边查边改情况", [
            "个性问题立行立改情况",
            "共性问题专项整改情况",
        ]),
    ], "领导班子群众评价表（种子 004 附件1）"),
    "seed001-five-advances": _form("基层党组织“五个推进”群众评议表", "unit", "satisfaction3", [("五个推进", [
        "推进变化变革、跨越发展情况",
        "推进敢于担当、维护稳定情况",
        "推进承诺践诺、为民服务情况",
        "推进创新效率、提升能力情况",
        "推进强基固本、履职尽责情况",
    ])], "群众评议实施意见 篇5（种子 001）"),
    "seed001-five-leads": _form("党员“五个带头”群众评议表", "person", "satisfaction3", [("五个带头", [
        "带头学习提高素质情况",
        "带头维护团结稳定情况",
        "带头争创一流佳绩情况",
        "带头服务基层群众情况",
        "带头遵守党纪国法情况",
    ])], "群众评议实施意见 篇5（种子 001）"),
    # The four questions 篇2 and seed 002 both put to every party organization; neither names the scale.
    "seed001-four-aspects": _form("基层党组织创先争优活动“四个方面”群众评议表", "unit", "satisfaction4", [("四个方面", [
        "活动目标是否达到",
        "发展思路是否清晰",
        "公开承诺事项是否完成",
        "工作措施是否得力",
    ])], "群众评议工作总结 篇2 二（种子 001）；平庄煤业公司群众评议工作总结 一.3（种子 002）"),
    # 附件1 of 篇3: one question in the four grades the seed spells out, then the suggestions.
    "seed001-p3-org": _form("党组织创先争优群众评议表", "unit", "satisfaction4", [("评议内容", [
        "党组织创先争优活动开展情况",
    ])], "群众评议工作方案 篇3 四.2 附件1（种子 001）"),
    # 篇4 五 (the school's 破解难题 review): 满意度测评 without named grades, so 篇3's four.
    "seed001-p4-branch": _form("党支部创先争优破解难题群众评议表", "unit", "satisfaction4", [("评议内容", [
        "推进创先争优活动情况和创先争优破解难题进展情况",
        "承诺践诺情况",
        "为师生员工办实事、做好事、解难事情况",
        "加强党组织和党员队伍建设情况",
    ])], "群众评议实施方案 篇4 五（种子 001）"),
    "seed001-p4-member": _form("党员创先争优破解难题群众评议表", "person", "satisfaction4", [("评议内容", [
        "参加创先争优破解难题情况，促进党员“五带头”，发挥先锋模范作用",
        "立足岗位履行职责情况",
        "践行公开承诺情况",
        "联系和服务师生情况",
    ])], "群众评议实施方案 篇4 五（种子 001）"),
    # 工作实绩 (篇5 三): the seed's rules speak of 不满意率 and 一般和不满意率, so three grades.
    "seed001-merit-org": _form("群众评议基层党组织工作实绩表", "unit", "satisfaction3", [("工作实绩", [
        "群众对党员干部的信任感",
        "群众对民生实事的满足感",
        "群众对生态环境的舒适感",
        "群众对社会治安的放心感",
    ])], "群众评议实施意见 篇5 三（三）（种子 001）"),
    "seed001-merit-cadre": _form("群众评议干部工作实绩表", "person", "satisfaction3", [("工作实绩", [
        "联系群众知民情情况",
        "服务群众暖民心情况",
        "敢抓敢管解民忧情况",
        "带领群众助民富情况",
    ])], "群众评议实施意见 篇5 三（三）（种子 001）"),
}
