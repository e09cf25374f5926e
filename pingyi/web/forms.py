"""WTForms for every page form (labels are msgids: Chinese first)."""

from __future__ import annotations

import re
from datetime import datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, StopValidation

from pingyi.i18n import _
from pingyi.i18n import lazy_gettext as _l
from pingyi.models import ID_RANGE, INTEGER_RANGE, ROLES, UNIT_KINDS, utcnow

# ---- bounds: what a typed number, id, decimal or date may be -----------------------------------
# One place for the pages and the API (``web.api.schemas`` uses the same bounds): a value outside
# them is refused where it enters, so no lookup or write ever sees a number the database cannot
# hold (SQLite raised OverflowError past 2**63, PostgreSQL "integer out of range" past 2**31) and
# no date arithmetic leaves the calendar (0001-01-01 in Asia/Shanghai is before year 1 in UTC).

INT_RANGE = INTEGER_RANGE  # an INTEGER column: sort orders, scores…
YEAR_FROM = 2000
_ID_TEXT = re.compile(r"[0-9]{1,10}")  # ASCII digits only: "²".isdigit() is True, int("²") fails
# A weight or other decimal as people type it: 0.4, 40%, 1 — no exponent (1e-999999999 would be
# written out as a billion digits), no inf or NaN, at most the 20 characters the column keeps.
DECIMAL_TEXT = re.compile(r"\s*[0-9]{1,6}(\.[0-9]{1,12})?\s*%?\s*")


def year_range() -> tuple[int, int]:
    """The years a typed date may name: 2000 to a century from today (the domain's own rules,
    such as a window of at most a year, are narrower; this keeps its arithmetic finite)."""
    return YEAR_FROM, utcnow().year + 100


def as_id(value) -> int | None:
    """A row id from a form field or a query string, or ``None`` when the text cannot name a row
    (not plain digits, or outside the id column's range)."""
    text = str(value if value is not None else "").strip()
    if not _ID_TEXT.fullmatch(text):
        return None
    number = int(text)
    return number if ID_RANGE[0] <= number <= ID_RANGE[1] else None


def date_out_of_range(value) -> str | None:
    """Why a typed date-time cannot be taken (its year outside ``year_range``), or ``None``;
    text that is not a date at all is left to the domain, which says how to write one."""
    text = str(value or "").strip().replace(" ", "T")
    if not text:
        return None
    try:
        year = datetime.fromisoformat(text).year
    except ValueError:
        match = re.match(r"([0-9]{1,4})-", text)  # 0001-01-01T25:00 is no date, but its year is wrong too
        if not match:
            return None
        year = int(match.group(1))
    low, high = year_range()
    if low <= year <= high:
        return None
    return _("日期应在 %(low)d 年到 %(high)d 年之间", low=low, high=high)


class InRange:
    """An optional whole number field in [low, high] (by default an INTEGER column's range)."""

    def __init__(self, low: int = INT_RANGE[0], high: int = INT_RANGE[1]) -> None:
        self.low, self.high = low, high

    def __call__(self, form, field) -> None:
        if field.data is not None and not self.low <= field.data <= self.high:
            raise StopValidation(_("应为 %(low)d 到 %(high)d 之间的整数", low=self.low, high=self.high))


class IdText:
    """A text field (or every value of a ``Values`` field) naming a row by id: blank, or digits
    within the id column's range."""

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        for value in values:
            if value not in (None, "") and as_id(value) is None:
                raise StopValidation(_("“%(v)s”不是有效的编号", v=str(value)[:20]))


class DateText:
    """A typed date-time whose year lies in ``year_range`` (blank passes)."""

    def __call__(self, form, field) -> None:
        problem = date_out_of_range(field.data)
        if problem:
            raise StopValidation(problem)


class DecimalText:
    """Every value of a ``Values`` field a plain decimal (0.4, 40%) or blank."""

    def __call__(self, form, field) -> None:
        for value in field.data or []:
            if value.strip() and not DECIMAL_TEXT.fullmatch(value):
                raise StopValidation(_("“%(v)s”不是数字，请写成 0.4 或 40%%", v=value[:20]))


class EachLength:
    """Every value of a ``Values`` field at most ``n`` characters (the column's size)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, form, field) -> None:
        if any(len(v) > self.n for v in field.data or []):
            raise StopValidation(_("不能超过 %(n)d 字", n=self.n))


class LoginForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


class PasswordForm(FlaskForm):
    old_password = PasswordField(_l("原密码"), validators=[DataRequired()])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=200)])


class ApiKeyForm(FlaskForm):
    name = StringField(_l("密钥名称"), validators=[DataRequired(), Length(max=100)])


class UnitForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), choices=list(UNIT_KINDS.items()))
    parent_id = SelectField(_l("上级单位"), coerce=str, validate_choice=False, validators=[IdText()])
    sort_order = IntegerField(_l("排序"), default=0, validators=[Optional(), InRange()])


class PersonForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    unit_id = SelectField(_l("所在单位"), coerce=str, validate_choice=False, validators=[IdText()])
    position = StringField(_l("职务"), default="党员", validators=[Length(max=50)])
    is_party_member = BooleanField(_l("党员"), default=True)


class ImportForm(FlaskForm):
    what = SelectField(_l("导入内容"), choices=[("units", _l("组织架构")), ("people", _l("人员名册"))])
    file = FileField(_l("文件（.xlsx 或 .csv）"), validators=[FileRequired()])


class MemberForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("邮箱格式不正确"))])
    role = SelectField(_l("角色"), choices=[(r, r) for r in ROLES])
    unit_id = SelectField(_l("所管单位（单位管理员）"), coerce=str, validate_choice=False, validators=[IdText()])


class TenantForm(FlaskForm):
    slug = StringField(_l("标识"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])
    parent = StringField(_l("上级租户标识"), validators=[Optional(), Length(max=40)])
    admin_email = StringField(_l("管理员邮箱"), validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("邮箱格式不正确"))])


class RenameForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])


# ---- page forms whose inputs the templates write by hand ---------------------------------------
# Each page posts through one of these (validated and CSRF-checked by ``validate_on_submit``);
# the fields only carry what was typed, the domain function they feed validates its meaning.


class Values(Field):
    """Every value posted under one name: a table's column posted as repeated inputs (the
    rows of categories and rules, ticked unit kinds or subjects, a scale's choices)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)

    def process_data(self, value) -> None:
        self.data = list(value or [])


class Prefixed(Field):
    """Every posted ``<prefix><key>`` field as ``{key: value}`` (one input per paragraph)."""

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix

    def process(self, formdata, data=None, extra_filters=None) -> None:
        self.process_errors = []
        # a multipart part whose name does not parse comes with the name None
        self.data = {k[len(self.prefix):]: v for k, v in (formdata or {}).items()
                     if isinstance(k, str) and k.startswith(self.prefix)}


def _ids(values: list[str]) -> list[int]:
    return [i for i in map(as_id, values) if i is not None]


class CampaignForm(FlaskForm):
    name = StringField(_l("名称"), validators=[Length(max=200)])
    description = StringField(_l("说明"), validators=[Length(max=5000)])
    opens_at = StringField(_l("开始时间"), validators=[DateText()])
    closes_at = StringField(_l("结束时间"), validators=[DateText()])
    weighting = BooleanField(_l("按类别加权"))
    publication_scope = StringField(_l("公示范围"))


class CampaignPageForm(CampaignForm):
    """The campaign page posts one of three: a transition (``action``), the publication
    settings (``op=publication``), or the basic information."""

    action = StringField()
    op = StringField()
    publish_until = StringField(_l("公示截止"), validators=[DateText()])
    publish_opinions = BooleanField(_l("公示意见"))
    publish_export = BooleanField(_l("公示匿名票据"))


class LiveResultsForm(FlaskForm):
    """The campaign page's switch for live results while the campaign is open."""

    live_results = BooleanField(_l("评议进行中显示实时结果"))


class SubjectsForm(FlaskForm):
    op = StringField()
    form_id = StringField(_l("测评表"), validators=[IdText()])
    root_unit_id = StringField(_l("单位"), validators=[IdText()])
    kind = StringField(_l("对象类型"), default="unit")
    unit_kinds = Values()
    party_members_only = BooleanField()
    subject_id = Values(_l("评议对象"), validators=[IdText()])

    @property
    def subject_ids(self) -> list[int]:
        return _ids(self.subject_id.data)


def _table(form: FlaskForm, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """A table posted as parallel ``Values`` columns, one dict per row ("" for a column not posted
    at all; ``TableForm`` refused columns of unequal lengths)."""
    cols = {k: getattr(form, k).data for k in columns}
    n = max((len(v) for v in cols.values()), default=0)
    return [{k: cols[k][i] if i < len(cols[k]) else "" for k in columns} for i in range(n)]


class TableForm(FlaskForm):
    """A page table posted as parallel columns (``COLUMNS``, each a ``Values`` field). Columns
    of unequal lengths are refused: padding the short ones would give a value to the wrong row."""

    COLUMNS: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        lengths = {len(getattr(self, k).data) for k in self.COLUMNS} - {0}  # a column not posted: blank
        if len(lengths) > 1:
            first = getattr(self, self.COLUMNS[0])
            first.errors = [*first.errors, _("表格各列的行数不一致，没有保存；请刷新页面后重新填写")]
            return False
        return ok


class CategoriesForm(TableForm):
    COLUMNS = ("id", "name", "weight", "scope", "group_unit_id")
    op = StringField()
    id = Values(_l("参评人员类别"), validators=[IdText()])
    name = Values(_l("类别名称"), validators=[EachLength(50)])
    weight = Values(_l("权重"), validators=[DecimalText(), EachLength(20)])
    scope = Values(_l("参评范围"), validators=[EachLength(10)])
    group_unit_id = Values(_l("全评的评议组"), validators=[IdText()])

    def rows(self) -> list[dict]:
        """One dict per named row (blank rows are the page's spare lines)."""
        return [{**r, "id": r["id"] or None, "group_unit_id": r["group_unit_id"] or None}
                for r in _table(self, self.COLUMNS) if r["name"].strip()]


class RulesForm(TableForm):
    COLUMNS = ("metric", "op", "threshold", "outcome", "applies_to", "group", "severity", "source")
    preset = StringField()
    metric = Values(_l("指标"), validators=[EachLength(30)])
    op = Values(_l("比较"), validators=[EachLength(2)])
    threshold = Values(_l("阈值"), validators=[EachLength(20)])
    outcome = Values(_l("结果"), validators=[EachLength(100)])
    applies_to = Values(_l("适用对象"), validators=[EachLength(10)])
    group = Values(_l("互斥组"), validators=[EachLength(30)])
    severity = Values(_l("级别"), validators=[EachLength(10)])
    source = Values(_l("依据"), validators=[EachLength(100)])

    def rows(self) -> list[dict]:
        """One dict per row that has an outcome or a threshold."""
        return [r for r in _table(self, self.COLUMNS) if r["outcome"].strip() or r["threshold"].strip()]


class LinksForm(FlaskForm):
    """Issue links (category, root unit, unit kinds, count per unit) or revoke (``op=revoke``:
    a short code, or a unit with an optional serial and category)."""

    op = StringField()
    category_id = StringField(_l("参评人员类别"), validators=[IdText()])
    unit_id = StringField(_l("单位"), validators=[IdText()])
    unit_kinds = Values()
    count = IntegerField(_l("每个单位数量"), validators=[Optional(), InRange()])
    serial = IntegerField(_l("序号"), validators=[Optional(), InRange(*ID_RANGE)])
    short_code = StringField(_l("短码"), validators=[Length(max=40)])


class SampleForm(FlaskForm):
    per_unit = StringField(_l("每个单位人数"))
    seed = StringField(_l("随机种子"))


class ReportForm(FlaskForm):
    kind = StringField(_l("报表"))
    format = StringField(_l("格式"))


class NarrativeForm(FlaskForm):
    """The summary's paragraphs: ``text-<key>``, and ``reset-<key>`` to generate one again."""

    text = Prefixed("text-")
    reset = Prefixed("reset-")

    def edits(self) -> dict[str, str]:
        return {**self.text.data, **dict.fromkeys(self.reset.data, "")}


class NewFormForm(FlaskForm):
    template = StringField()
    name = StringField(_l("名称"), validators=[Length(max=200)])
    subject_kind = StringField(_l("对象类型"), default="unit")


class DesignerForm(TableForm):
    """One edit of the form designer (``op``) and whatever fields that edit posts."""

    COLUMNS = ("label", "score")  # a scale's choices (``satisfied`` holds ticked indexes only)
    op = StringField()
    anchor = StringField()
    name = StringField(validators=[Length(max=200)])
    description = StringField(validators=[Length(max=5000)])
    subject_kind = StringField()
    preset = StringField()
    scale_id = StringField(_l("量表"), validators=[IdText()])
    section_id = StringField(_l("栏目"), validators=[IdText()])
    item_id = StringField(_l("评议项目"), validators=[IdText()])
    title = StringField()
    text = StringField()
    kind = StringField(default="rating")
    required = BooleanField()
    max_length = IntegerField(_l("字数上限"), validators=[Optional(), InRange()])
    delta = IntegerField(_l("移动"), validators=[Optional(), InRange()], default=0)
    label = Values(_l("选项"), validators=[EachLength(30)])
    score = Values(_l("分值"), validators=[EachLength(11)])
    satisfied = Values()

    def choices(self) -> list[dict]:
        """A scale's choices as posted: label, score and whether it counts as satisfied."""
        scores, satisfied = self.score.data, set(self.satisfied.data)
        return [{"label": lab, "score": scores[i] if i < len(scores) else 0, "satisfied": str(i) in satisfied}
                for i, lab in enumerate(self.label.data) if lab.strip()]


class TenantEditForm(FlaskForm):
    name = StringField(_l("名称"), validators=[Optional(), Length(max=200)])
    active = StringField()


class CodeForm(FlaskForm):
    """A printed slip's short code, or a receipt code (public pages: the link is the CSRF)."""

    class Meta:
        csrf = False

    code = StringField(_l("代码"))


class PhasesForm(TableForm):
    """The timetable: one row per phase (its kind, start and end dates; both blank: no phase)."""

    COLUMNS = ("kind", "starts_on", "ends_on")
    kind = Values(_l("阶段"), validators=[EachLength(20)])
    starts_on = Values(_l("开始日期"), validators=[EachLength(10)])
    ends_on = Values(_l("结束日期"), validators=[EachLength(10)])

    def dates(self) -> dict[str, tuple[str, str]]:
        return {r["kind"]: (r["starts_on"], r["ends_on"]) for r in _table(self, self.COLUMNS)}


class MeetingForm(FlaskForm):
    unit_id = StringField(_l("单位"), validators=[IdText()])
    kind = StringField(_l("会议类型"), validators=[Length(max=20)])
    held_on = StringField(_l("会议日期"), validators=[Length(max=10)])
    attendance = StringField(_l("参会人数"), validators=[Length(max=10)])
    note = StringField(_l("备注"), validators=[Length(max=500)])


class DecisionForm(FlaskForm):
    subject_id = StringField(_l("评议对象"), validators=[IdText()])
    kind = StringField(_l("运用方式"), validators=[Length(max=20)])
    review = StringField(_l("复核意见"), validators=[Length(max=2000)])
    decided_on = StringField(_l("决定日期"), validators=[Length(max=10)])
    note = StringField(_l("备注"), validators=[Length(max=500)])
