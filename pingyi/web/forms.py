"""WTForms used by the admin pages (labels are msgids: Chinese first)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
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
