"""Sealing at close, counted receipts, the export and ``pingyi verify``, on SQLite and
PostgreSQL — and, on PostgreSQL, the triggers that refuse to change a sealed campaign's rows,
tried as someone with a database login would."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from pingyi.campaigns import lifecycle as cp
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Answer, Ballot, Campaign, CountedReceipt, SealLeaf
from pingyi.reports import tally_table
from pingyi.tenancy import tenant_context, unscoped
from pingyi.verification import check, digest, export, receipts
from pingyi.verification import rows as rw
from pingyi.voting import ballots
from tests.ballot_world import build, close_and_count, full_answers

pytestmark = pytest.mark.dates
postgresql_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # its triggers


def _cast(world, bw, links, choice=0, comment="") -> list[str]:
    out = []
    for n, link in enumerate(links):
        state = ballots.resolve(link.secret)
        subjects = ballots.subjects_for(state.token, state.category)
        sub = ballots.parse(full_answers(world, bw, link.secret, (choice + n) % 4, comment), subjects,
                            ballots.forms_of(subjects))
        out.append(ballots.cast(link.secret, sub))
    return out


@pytest.fixture
def sealed(ctx, world):
    """9 ballots (5 of one branch, 2 of the group category at the top, 2 of the other branch),
    closed by the closing job: sealed, k = 4 (the branch's 5 stand alone, the other 2 + 2 not)."""
    ctx.config["MIN_CELL"] = 4
    bw = build(world, links=5)
    with tenant_context(world.a.id):
        codes = _cast(world, bw, bw.own + bw.group + bw.other_branch, comment="食堂要改进")
        c = db.session.get(Campaign, bw.campaign_id)
        c.publish_opinions = True
        db.session.commit()
    close_and_count(world, bw)
    return world, bw, codes


def _campaign(world, bw) -> Campaign:
    return db.session.get(Campaign, bw.campaign_id)


def test_close_seals_and_lists_every_counted_receipt(sealed):
    world, bw, codes = sealed
    with tenant_context(world.a.id):
        c = _campaign(world, bw)
        assert c.seal_digest and len(c.seal_digest) == 64 and c.seal_k == 4 and c.sealed_at is not None
        assert receipts.count(c) == 9 == db.session.execute(select(func.count()).select_from(Ballot)).scalar()
        listed = [line.strip() for line in receipts.lines(c)]
        assert listed == sorted(listed) == sorted(ballots.tokens.format_code(code) for code in codes)
        assert receipts.page(c, 2, 4) == listed[4:8]
        # reproducible: the same rows give the same digest, recomputed from scratch
        leaves = [digest.leaf(r) for r in rw.rows(c.id, rw.sealed_groups(c.id))]
        assert digest.root(leaves) == c.seal_digest
        report = check.database(c)
        assert report.ok, report.problems
        assert any("9 张票 = 9 个已计票回执" in line for line in report.checked)
        with pytest.raises(DomainError, match="已封存"):
            cp.transition(c, "reopen")
        db.session.rollback()


def test_export_coarsens_small_groups_and_recounts_to_the_tally_table(sealed):
    world, bw, _codes = sealed
    with tenant_context(world.a.id):
        c = _campaign(world, bw)
        assert export.available(c)
        text_out = "".join(export.lines(c, opinions=True))
        exp = export.read(io.StringIO(text_out, newline=""))
        assert exp.digest == c.seal_digest and len(exp.rows) == 9
        assert [r.ballot_id for r in exp.rows] == sorted(r.ballot_id for r in exp.rows)
        groups = {}
        for r in exp.rows:
            groups[(r.unit_id, r.category_id)] = groups.get((r.unit_id, r.category_id), 0) + 1
        # the branch's 5 stand as they are; the 2 + 2 others are merged and raised to the top
        assert groups == {(world.a.branch, r.category_id): 5 for r in exp.rows if r.unit_id == world.a.branch} | {
            (world.a.root, None): 4}
        assert min(groups.values()) >= 4
        assert "食堂要改进" in text_out and all("ballot" not in k for o in exp.opinions for k in o)
        assert not any(o.get("text") and o["text"] in (r.ballot_id,) for o in exp.opinions for r in exp.rows)
        table = tally_table.workbook(c)
        report = check.exported(c, exp, table)
        assert report.ok, report.problems
        assert any("统计表" in line for line in report.checked)


def _run(app, *args):
    return CliRunner().invoke(app.cli, list(args), catch_exceptions=False)


def test_cli_export_and_verify_name_the_changed_ballot(sealed, app, tmp_path):
    world, bw, _codes = sealed
    out = tmp_path / "ballots.csv"
    r = _run(app, "export", "ballots", "--tenant", "alpha", "--campaign", str(bw.campaign_id), "--out", str(out))
    assert r.exit_code == 0, r.output
    with tenant_context(world.a.id):
        c = _campaign(world, bw)
        digest_ = c.seal_digest
        table = tmp_path / "统计表.xlsx"
        table.write_bytes(tally_table.workbook(c))
    r = _run(app, "verify", "--tenant", "alpha", "--campaign", str(bw.campaign_id), "--export", str(out),
             "--table", str(table))
    assert r.exit_code == 0 and "核对通过" in r.output and digest_ in r.output, r.output
    assert _run(app, "verify", "--tenant", "alpha", "--campaign", str(bw.campaign_id)).exit_code == 0
    # one answer changed in the file: the check names that ballot
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if "不满意" not in line and '满意"' in line and line[0] != "#")
    victim = lines[n].split(",")[0]
    lines[n] = lines[n].replace('满意"', '不满意"', 1)
    bad = tmp_path / "changed.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    r = _run(app, "verify", "--tenant", "alpha", "--campaign", str(bw.campaign_id), "--export", str(bad))
    assert r.exit_code == 1 and f"票 {victim}" in r.output and "核对未通过" in r.output, r.output
    # not an export at all: a clear message, exit 1
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n", encoding="utf-8")
    r = _run(app, "verify", "--tenant", "alpha", "--campaign", str(bw.campaign_id), "--export", str(junk))
    assert r.exit_code == 1 and "不是可以核对的导出文件" in r.output
    # another tenant's campaign is not found under this tenant
    assert _run(app, "verify", "--tenant", "beta", "--campaign", str(bw.campaign_id)).exit_code == 1


def _bypass_triggers() -> None:
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))


def test_a_changed_answer_in_the_database_is_named(sealed):
    world, bw, _codes = sealed
    with tenant_context(world.a.id):
        c = _campaign(world, bw)
        victim = db.session.execute(select(Answer).order_by(Answer.ballot_id).limit(1)).scalar_one()
        other = next(ch for ch in _choices(victim.item_id) if ch != victim.choice_id)
        _bypass_triggers()  # as a superuser would: the triggers below refuse anyone else
        db.session.execute(text("UPDATE answers SET choice_id = :ch WHERE ballot_id = :b AND subject_id = :s "
                                "AND item_id = :i"), {"ch": other, "b": victim.ballot_id, "s": victim.subject_id,
                                                      "i": victim.item_id})
        report = check.database(c)
        db.session.rollback()
    assert not report.ok
    assert any(f"票 {victim.ballot_id}" in p for p in report.problems), report.problems
    assert any("数字指纹" in p for p in report.problems)


def _choices(item_id: int) -> list[int]:
    from pingyi.models import FormItem, ScaleChoice

    item = db.session.get(FormItem, item_id)
    return list(db.session.execute(select(ScaleChoice.id).where(ScaleChoice.scale_id == item.scale_id)).scalars())


@postgresql_only
@pytest.mark.parametrize("statement", [
    "UPDATE answers SET choice_id = choice_id WHERE campaign_id = :c",
    "DELETE FROM comments WHERE campaign_id = :c",
    "DELETE FROM ballots WHERE campaign_id = :c",
    "INSERT INTO ballots (id, tenant_id, campaign_id, category_id, unit_id, receipt_hash, paper) "
    "SELECT 'f' || substr(id, 2), tenant_id, campaign_id, category_id, unit_id, 'x' || substr(receipt_hash, 2), paper "
    "FROM ballots WHERE campaign_id = :c LIMIT 1",
    "DELETE FROM counted_receipts WHERE campaign_id = :c",
    "UPDATE seal_leaves SET leaf = leaf WHERE campaign_id = :c",
    "UPDATE campaigns SET seal_digest = NULL WHERE id = :c",
    "UPDATE campaigns SET state = 'open' WHERE id = :c",
    "DELETE FROM campaigns WHERE id = :c",
    "TRUNCATE answers",
])
def test_postgresql_refuses_changing_a_sealed_campaign(sealed, statement):
    world, bw, _codes = sealed
    with pytest.raises(Exception, match="is sealed"):
        db.session.execute(text(statement), {"c": bw.campaign_id})
    db.session.rollback()
    with tenant_context(world.a.id):
        assert check.database(_campaign(world, bw)).ok


@postgresql_only
def test_deleting_the_whole_tenant_still_works(sealed):
    world, bw, _codes = sealed
    with unscoped():
        db.session.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": world.a.id})
        left = {m.__tablename__: db.session.execute(select(func.count()).select_from(m).where(
            m.campaign_id == bw.campaign_id)).scalar() for m in (Ballot, Answer, CountedReceipt, SealLeaf)}
        db.session.rollback()
    assert left == {"ballots": 0, "answers": 0, "counted_receipts": 0, "seal_leaves": 0}


def test_receipts_are_stored_apart_from_ballots(sealed):
    """An attacker with the database: no column of the counted list names a ballot, and within
    a mixer batch the codes are written in code order, not the ballots' (the closing reshuffle
    then rewrites the list in random order, as it does the ballots)."""
    from pingyi.voting import mixer

    world, bw, _codes = sealed
    assert {c.name for c in CountedReceipt.__table__.columns} == {"tenant_id", "campaign_id", "code"}
    with tenant_context(world.a.id):
        boxed = [{"category_id": 1, "unit_id": 1, "paper": False, "receipt_hash": f"h{n}", "receipt": code,
                  "answers": [], "comments": []} for n, code in enumerate(["ZZ", "AA", "MM"])]
        ballot_rows, _a, _c, receipt_rows = mixer._rows(bw.campaign_id, boxed)
    assert [r["code"] for r in receipt_rows] == ["AA", "MM", "ZZ"]
    assert [r["receipt_hash"] for r in ballot_rows] == ["h0", "h1", "h2"]


def test_the_documented_snippet_recomputes_the_digest(sealed, tmp_path):
    """docs/verification.md's few lines of Python, run as a reader would, on the export."""
    import subprocess
    import sys
    from pathlib import Path

    world, bw, _codes = sealed
    doc = (Path(__file__).parents[2] / "docs" / "verification.md").read_text(encoding="utf-8")
    snippet = doc.split("Recomputing the digest", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    with tenant_context(world.a.id):
        c = _campaign(world, bw)
        (tmp_path / "ballots.csv").write_text("".join(export.lines(c, opinions=True)), encoding="utf-8")
        expected = c.seal_digest
    out = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
