"""What pingyi keeps about an evaluator: the statement behind the page linked from every ballot
page (``/stored``), generated from the models themselves.

Each record is a table that holds anything about a link or a ballot; its fields are the
model's columns, in order, and each says what it holds and how fine.
``tests/voting/test_statement.py`` holds this to the migrated schema: a column added, dropped
or retyped, or a new table with a ballot or link column, fails until the statement says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import DateTime, Table

from pingyi.i18n import lazy_gettext as _l
from pingyi.models import (
    Answer,
    Ballot,
    BallotToken,
    BoxedBallot,
    Comment,
    CountedReceipt,
    InterviewSample,
    PaperEntry,
    SealLeaf,
    TallyCount,
    TallyInbox,
)

# How fine a value is.
ID = _l("编号")
HASH = _l("不可逆的散列值，由它推算不出原值")
RANDOM = _l("随机值，与链接无关")
FLAG = _l("是 / 否")
SECOND = _l("精确到秒")
SEALED = _l("加密保存，密钥在应用服务器上，不在数据库中")

_COMMON = {
    "tenant_id": (_l("所属组织（租户）"), ID),
    "campaign_id": (_l("评议活动"), ID),
    "category_id": (_l("参评人员类别，如党员、群众（按类别统计用）"), ID),
    "subject_id": (_l("评议对象"), ID),
    "item_id": (_l("评议内容（哪一题）"), ID),
    "ballot_id": (_l("所属评议票"), RANDOM),
}


@dataclass(frozen=True)
class Field:
    name: str
    what: str | None  # None: the statement has no word for this column (a test fails)
    grain: str | None
    time: bool  # holds a point in time


@dataclass(frozen=True)
class Record:
    table: str
    title: str
    purpose: str
    kept: str
    seen_by: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class _Spec:
    model: type
    title: str
    purpose: str
    kept: str
    seen_by: str
    fields: dict[str, tuple[str, str]]


_SPECS = (
    _Spec(BallotToken, _l("测评码（一次性链接）"),
          _l("保证每个链接只能提交一次，并统计参评率。"),
          _l("随评议活动保存，删除评议活动时一并删除。"),
          _l("管理员能看到各单位、各类别发放和使用了多少个测评码，以及纸条上的序号；没有任何页面、报表或数据能看出某个链接投了哪张票。"),
          {"id": (_l("测评码的内部编号"), ID),
           "unit_id": (_l("发放到的单位"), ID),
           "secret_hash": (_l("链接密钥的散列值（链接本身不保存）"), HASH),
           "short_hash": (_l("纸条短码的散列值（短码本身不保存）"), HASH),
           "serial": (_l("纸条上印的序号（本单位内）"), _l("序号")),
           "batch_id": (_l("发放批次"), ID),
           "issued_at": (_l("管理员发放的时间（与是否投票、何时投票无关）"), SECOND),
           "used": (_l("是否已经使用"), _l("是 / 否，不记录使用时间")),
           "revoked_at": (_l("管理员作废它的时间"), SECOND)}),
    _Spec(BoxedBallot, _l("密封票箱"),
          _l("提交的评议票先在这里等待：它与测评码的“已使用”在同一次数据库操作中写入，所以不会丢票，也不会重复计票；内容用应用服务器上的密钥加密。凑满至少 %(k)s 张后，这一批票随机打乱顺序、换上新的编号，在另一次数据库操作中移入评议票表计票。"),
          _l("移出后立即删除，数据库中旧的行版本随即清理；评议结束时全部移出。"),
          _l("任何页面都不显示票箱；回执查询只回答“已收到”。能直接读取数据库的人只能看出某个测评码投了一张票（“是否已使用”也能看出），看不到内容，也对不上移入后的评议票；只有同时掌握应用服务器密钥的人，才能在票移出之前读到内容，所以票箱只短暂存放。"),
          {"id": (_l("暂存编号（移出时不沿用）"), RANDOM),
           "receipt_hash": (_l("回执码的另一种散列值（与评议票上的不同，两者对不上）"), HASH),
           "sealed": (_l("评议票的内容：参评人员类别、单位、是否纸质票、回执码散列值、各项选择和意见建议"), SEALED)}),
    _Spec(Ballot, _l("评议票"),
          _l("计票。每张评议票只记录下列内容，不记录提交时间、IP 地址、设备或身份。"),
          _l("随评议活动保存，删除评议活动时一并删除。"),
          _l("结果只以汇总数字显示，不足 %(k)s 张票的类别不显示，由合计能推算出的类别也不显示。评议结束封存后，匿名导出文件逐票列出各项选择（不含回执、时间），单位和类别合并到每组至少 %(k)s 张票；导出文件是否在公示页公开由管理员决定。"),
          {"id": (_l("评议票编号（移出票箱时随机生成）"), RANDOM),
           "unit_id": (_l("参评人员所在单位（按单位统计用）"), ID),
           "receipt_hash": (_l("回执码的散列值（供本人查询是否计入）"), HASH),
           "paper": (_l("是否纸质票（由两名工作人员分别录入）"), FLAG)}),
    _Spec(Answer, _l("评价选择"),
          _l("计票：每张票对每个评议对象每一题的选择。"),
          _l("随评议活动保存。"),
          _l("只以汇总数字显示，规则同评议票。"),
          {"choice_id": (_l("所选的评价，如满意、不满意"), ID)}),
    _Spec(Comment, _l("意见建议"),
          _l("汇总意见建议，推动整改。"),
          _l("随评议活动保存。"),
          _l("管理员可在意见汇总表中看到原文，按评议对象排列、按内容排序，不显示填写人，也不按投票先后排列；公示时只有管理员选择公开才显示。"),
          {"text": (_l("填写的意见建议原文"), _l("原文，每条最多 500 字"))}),
    _Spec(TallyInbox, _l("待计票记录"),
          _l("告诉实时统计哪些评议票还没有计入，计入后删除。"),
          _l("计入后立即删除。"),
          _l("任何页面都不显示。"),
          {"claimed": (_l("是否已被正在进行的统计领取"), FLAG)}),
    _Spec(PaperEntry, _l("纸质票录入（待核对）"),
          _l("同一张纸质评议表由两名工作人员分别录入，两次一致才计票。"),
          _l("两次录入一致时立即删除（评议票进入密封票箱）；不一致的录入保留到改正为止。"),
          _l("录入的工作人员和管理员能看到待核对的份数和两次录入的差异。"),
          {"id": (_l("录入的内部编号"), ID),
           "token_id": (_l("纸质表上的测评码"), ID),
           "entered_by": (_l("录入的工作人员账号"), ID),
           "payload": (_l("录入的选择和意见建议"), SEALED),
           "mismatch": (_l("与另一人的录入是否不一致"), FLAG),
           "created_at": (_l("录入时间"), SECOND)}),
    _Spec(InterviewSample, _l("个别访谈抽样"),
          _l("按评议方案随机抽取部分参评人员个别访谈：记下抽中的纸条，由组织者按序号联系本人。与评议票无关。"),
          _l("随评议活动保存。"),
          _l("管理员。"),
          {"id": (_l("抽样的内部编号"), ID),
           "seed": (_l("随机种子（同一种子总是抽出同样的结果）"), _l("整数")),
           "per_unit": (_l("每个单位抽取的人数"), _l("整数")),
           "entries": (_l("抽中的纸条：单位和序号"), _l("单位编号和序号")),
           "created_at": (_l("抽样时间"), SECOND)}),
    _Spec(TallyCount, _l("统计结果"),
          _l("各评议对象、各题、各选项、各类别的票数，供结果页和报表使用。"),
          _l("随评议活动保存，每次统计整体替换。"),
          _l("按结果页的规则显示：不足 %(k)s 张票的类别不显示。"),
          {"choice_id": (_l("评价选项"), ID),
           "count": (_l("选择该项的票数"), _l("整数"))}),
    _Spec(CountedReceipt, _l("已计票回执码"),
          _l("公示已计票的回执码清单：本人可核对自己的票已计入，任何人可核对回执码个数与票数相等。"),
          _l("随评议活动保存，封存后不能修改。"),
          _l("公示页列出全部回执码，按字母顺序排列；没有任何一列把回执码与某张评议票或其内容对应起来。"),
          {"code": (_l("回执码本身（投票后显示给本人的那串字符）"), _l("原文，不含任何选择"))}),
    _Spec(SealLeaf, _l("封存记录"),
          _l("评议结束时为每张票的规范化内容计算一个散列值，合成整个评议活动的数字指纹，任何人可据匿名导出文件核对结果没有被改动。"),
          _l("随评议活动保存，封存后不能修改。"),
          _l("不单独显示；匿名导出文件按这里记录的分组显示每张票的单位和类别，每组至少 %(k)s 张票。"),
          {"unit_id": (_l("导出时显示的单位（不足 k 张票的分组合并到上级单位）"), ID),
           "category_id": (_l("导出时显示的类别（不足 k 张票时各类别合并，为空）"), ID),
           "leaf": (_l("该票规范化内容（编号、分组、各项选择）的散列值"), HASH)}),
)

# Tables whose columns name one of these hold something about a link or a ballot.
EVALUATOR_COLUMNS = frozenset({"ballot_id", "token_id", "receipt_hash", "secret_hash", "short_hash"})


def _field(spec: _Spec, column) -> Field:
    what, grain = spec.fields.get(column.name) or _COMMON.get(column.name) or (None, None)
    kind = getattr(column.type, "impl", column.type)  # UTCDateTime decorates DateTime
    return Field(column.name, what, grain, isinstance(kind, DateTime))


def records(k: int) -> list[Record]:
    """The statement's tables, each with every column of its model, in the model's order, in
    the current language; ``k`` is the batch and suppression threshold the texts name."""
    out = []
    for spec in _SPECS:
        table: Table = spec.model.__table__
        out.append(Record(table.name, *(str(t) % {"k": k} for t in (spec.title, spec.purpose, spec.kept, spec.seen_by)),
                          tuple(_field(spec, c) for c in table.columns)))
    return out


def problems() -> list[str]:
    """The statement against the models: columns it has no words for, words for columns gone."""
    out = []
    for spec in _SPECS:
        table = spec.model.__table__
        out += [f"{table.name}.{c.name}: not described" for c in table.columns
                if c.name not in spec.fields and c.name not in _COMMON]
        out += [f"{table.name}.{name}: described, but no such column" for name in spec.fields
                if name not in table.columns]
    return out
