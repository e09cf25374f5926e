"""WTForms for every page form (labels are msgids: Chinese first)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from pingyi.i18n import lazy_gettext as _l
from pingyi.models import ROLES, UNIT_KINDS


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
    parent_id = SelectField(_l("上级单位"), coerce=str, validate_choice=False)
    sort_order = IntegerField(_l("排序"), default=0, validators=[Optional()])


class PersonForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    unit_id = SelectField(_l("所在单位"), coerce=str, validate_choice=False)
    position = StringField(_l("职务"), default="党员", validators=[Length(max=50)])
    is_party_member = BooleanField(_l("党员"), default=True)


class ImportForm(FlaskForm):
    what = SelectField(_l("导入内容"), choices=[("units", _l("组织架构")), ("people", _l("人员名册"))])
    file = FileField(_l("文件（.xlsx 或 .csv）"), validators=[FileRequired()])


class MemberForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("邮箱格式不正确"))])
    role = SelectField(_l("角色"), choices=[(r, r) for r in ROLES])
    unit_id = SelectField(_l("所管单位（单位管理员）"), coerce=str, validate_choice=False)


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
        self.data = {k[len(self.prefix):]: v for k, v in (formdata or {}).items() if k.startswith(self.prefix)}


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


class CampaignForm(FlaskForm):
    name = StringField(_l("名称"), validators=[Length(max=200)])
    description = StringField(_l("说明"), validators=[Length(max=5000)])
    opens_at = StringField(_l("开始时间"))
    closes_at = StringField(_l("结束时间"))
    weighting = BooleanField(_l("按类别加权"))
    publication_scope = StringField(_l("公示范围"))


class CampaignPageForm(CampaignForm):
    """The campaign page posts one of three: a transition (``action``), the publication
    settings (``op=publication``), or the basic information."""

    action = StringField()
    op = StringField()
    publish_until = StringField(_l("公示截止"))
    publish_opinions = BooleanField(_l("公示意见"))


class LiveResultsForm(FlaskForm):
    """The campaign page's switch for live results while the campaign is open."""

    live_results = BooleanField(_l("评议进行中显示实时结果"))


class SubjectsForm(FlaskForm):
    op = StringField()
    form_id = StringField(_l("测评表"))
    root_unit_id = StringField(_l("单位"))
    kind = StringField(_l("对象类型"), default="unit")
    unit_kinds = Values()
    party_members_only = BooleanField()
    subject_id = Values()

    @property
    def subject_ids(self) -> list[int]:
        return _ids(self.subject_id.data)


def _table(form: FlaskForm, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """A table posted as parallel ``Values`` columns, one dict per row ("" where a row is short)."""
    cols = {k: getattr(form, k).data for k in columns}
    n = max((len(v) for v in cols.values()), default=0)
    return [{k: cols[k][i] if i < len(cols[k]) else "" for k in columns} for i in range(n)]


class CategoriesForm(FlaskForm):
    COLUMNS = ("id", "name", "weight", "scope", "group_unit_id")
    op = StringField()
    id = Values()
    name = Values()
    weight = Values()
    scope = Values()
    group_unit_id = Values()

    def rows(self) -> list[dict]:
        """One dict per named row (blank rows are the page's spare lines)."""
        return [{**r, "id": r["id"] or None, "group_unit_id": r["group_unit_id"] or None}
                for r in _table(self, self.COLUMNS) if r["name"].strip()]


class RulesForm(FlaskForm):
    COLUMNS = ("metric", "op", "threshold", "outcome", "applies_to", "group", "severity", "source")
    preset = StringField()
    metric = Values()
    op = Values()
    threshold = Values()
    outcome = Values()
    applies_to = Values()
    group = Values()
    severity = Values()
    source = Values()

    def rows(self) -> list[dict]:
        """One dict per row that has an outcome or a threshold."""
        return [r for r in _table(self, self.COLUMNS) if r["outcome"].strip() or r["threshold"].strip()]


class LinksForm(FlaskForm):
    """Issue links (category, root unit, unit kinds, count per unit) or revoke (``op=revoke``:
    a short code, or a unit with an optional serial and category)."""

    op = StringField()
    category_id = StringField(_l("参评人员类别"))
    unit_id = StringField(_l("单位"))
    unit_kinds = Values()
    count = IntegerField(_l("每个单位数量"), validators=[Optional()])
    serial = IntegerField(_l("序号"), validators=[Optional()])
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


class DesignerForm(FlaskForm):
    """One edit of the form designer (``op``) and whatever fields that edit posts."""

    op = StringField()
    anchor = StringField()
    name = StringField(validators=[Length(max=200)])
    description = StringField(validators=[Length(max=5000)])
    subject_kind = StringField()
    preset = StringField()
    scale_id = StringField()
    section_id = StringField()
    item_id = StringField()
    title = StringField()
    text = StringField()
    kind = StringField(default="rating")
    required = BooleanField()
    max_length = IntegerField(validators=[Optional()])
    delta = IntegerField(validators=[Optional()], default=0)
    label = Values()
    score = Values()
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
