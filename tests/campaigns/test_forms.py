"""Forms: built-in templates, validation, the designer's edits, versions and freezing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pingyi.campaigns import questionnaire as q
from pingyi.campaigns.form_templates import SCALES, TEMPLATES
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Form, FormItem
from pingyi.tenancy import tenant_context


def test_every_template_is_valid_and_copies(ctx, world):
    with tenant_context(world.a.id):
        for key in TEMPLATES:
            form = q.copy_template(key)
            doc = q.form_document(form)
            assert doc["name"] == TEMPLATES[key]["name"] and doc["version"] == 1
            assert doc["family_id"] == form.id and form.template_key == key


def test_seed_templates_have_the_seeds_items(ctx, world):
    with tenant_context(world.a.id):
        team = q.form_document(q.copy_template("seed004-team"))
        org = q.form_document(q.copy_template("seed002-org"))
    assert [s["title"] for s in team["sections"]] == ["总体评价", "学习教育情况", "听取意见情况", "边查边改情况",
                                                      "意见建议"]
    assert [len(s["items"]) for s in team["sections"]] == [1, 5, 5, 2, 1]
    assert [c["label"] for c in team["scales"][0]["choices"]] == ["好", "一般", "差"]
    assert len(org["sections"][0]["items"]) == 5
    sat = [c for c in org["scales"][0]["choices"] if c["satisfied"]]
    assert [c["label"] for c in sat] == ["满意", "比较满意"]
    assert org["sections"][-1]["items"][0]["kind"] == "text"


@pytest.mark.parametrize("choices,message", [
    ([{"label": "好", "satisfied": False}, {"label": "差", "satisfied": False}], "至少要有一个计为“满意”"),
    ([{"label": "好", "satisfied": True}, {"label": "差", "satisfied": True}], "不能所有选项"),
    ([{"label": "好", "satisfied": True}], "2 到 10 个选项"),
    ([{"label": "好", "satisfied": True}, {"label": "好"}], "重复"),
    ([{"label": "", "satisfied": True}, {"label": "差"}], "不能为空"),
    ([{"label": "好", "satisfied": True, "score": "x"}, {"label": "差"}], "整数"),
])
def test_bad_scales_are_refused(ctx, world, choices, message):
    with tenant_context(world.a.id):
        form = q.copy_template("seed003-org")
        with pytest.raises(DomainError) as info:
            q.add_scale(form, name="坏量表", choices=choices)
        assert message in info.value.message
        assert len(form.scales) == 1


def test_bad_documents_are_refused(ctx, world):
    good = TEMPLATES["seed003-org"]
    cases = [({**good, "name": ""}, "name"), ({**good, "subject_kind": "planet"}, "subject_kind"),
             ({**good, "sections": [{"title": "x", "items": [{"text": "只有意见", "kind": "text"}]}]}, "sections"),
             ({**good, "sections": [{"title": "x", "items": [{"text": "a", "kind": "rating", "scale": "nope"}]}]},
              "items")]
    with tenant_context(world.a.id):
        for doc, field in cases:
            with pytest.raises(DomainError) as info:
                q.create_form(doc)
            assert info.value.field == field
        assert db.session.execute(select(Form)).first() is None


def test_designer_edits(ctx, world):
    with tenant_context(world.a.id):
        form = q.copy_template("seed003-org")
        scale = q.add_scale(form, preset="good3")
        sec = q.add_section(form, "补充项目")
        item = q.add_item(form, sec, "服务态度", "rating", scale.id)
        q.add_item(form, sec, "其他建议", "text", max_length=200)
        q.move(form, sec, -1)
        doc = q.form_document(form)
        assert [s["title"] for s in doc["sections"]] == ["评议内容", "补充项目", "意见建议"]
        assert doc["sections"][1]["items"][0]["scale"] == "s2"
        with pytest.raises(DomainError):
            q.delete_scale(form, scale)  # in use
        q.update_item(form, item, "服务态度和作风", "rating", form.scales[0].id, True)
        q.delete_scale(form, scale)
        with pytest.raises(DomainError):
            q.add_item(form, sec, "无量表", "rating", None)


def test_frozen_version_cannot_change_and_new_version_copies(ctx, world):
    with tenant_context(world.a.id):
        form = q.copy_template("seed002-member")
        q.freeze({form.id})
        for edit in (lambda: q.add_section(form, "x"), lambda: q.add_scale(form, preset="good3"),
                     lambda: q.replace_content(form, TEMPLATES["seed003-org"]),
                     lambda: q.update_form_meta(form, "新名", "", "person")):
            with pytest.raises(DomainError) as info:
                edit()
            assert "已冻结" in info.value.message
        v2 = q.new_version(form)
        assert (v2.family_id, v2.version, v2.is_frozen) == (form.id, 2, False)
        assert q.new_version(form).id == v2.id  # the latest draft is reused
        q.add_section(v2, "新增")
        before = q.form_document(form)
        assert len(before["sections"]) == 2 and len(q.form_document(v2)["sections"]) == 3
        assert [f.id for f in q.latest_forms()] == [v2.id]
        ids = {i.id for i in db.session.execute(select(FormItem).where(FormItem.form_id == form.id)).scalars()}
        assert ids.isdisjoint({i["id"] for s in q.form_document(v2)["sections"] for i in s["items"]})


def test_replace_content_via_document(ctx, world):
    with tenant_context(world.a.id):
        form = q.copy_template("seed003-org")
        q.replace_content(form, {"name": "自定义", "subject_kind": "unit", "scales": [
            {"key": "x", **SCALES["competence4"]}], "sections": [{"title": "一", "items": [
                {"text": "履职情况", "kind": "rating", "scale": "x"}]}]})
        doc = q.form_document(form)
    assert doc["name"] == "自定义" and doc["scales"][0]["choices"][0]["label"] == "优秀"


@pytest.mark.parametrize("doc", [
    {"name": "x", "scales": "x"}, {"name": "x", "sections": [1]}, {"name": "x", "subject_kind": []},
    {"name": "x", "scales": [{"key": "s", "choices": ["a", "b"]}]},
    {"name": "x", "scales": [{"key": "s", "choices": [{"label": "好", "satisfied": True}, {"label": "差"}]}],
     "sections": [{"items": [{"text": "t", "kind": "rating", "scale": "s"}, {"text": "c", "kind": "text",
                                                                             "max_length": "abc"}]}]},
    {"name": "x", "scales": [{"key": "s", "choices": [{"label": "好", "satisfied": True}, {"label": "差"}]}],
     "sections": [{"items": [{"text": "t", "kind": "rating", "scale": ["s"]}]}]},
    "not a dict",
])
def test_malformed_documents_are_refused_not_crashing(ctx, world, doc):
    with tenant_context(world.a.id), pytest.raises(DomainError):
        q.create_form(doc)
