"""Suppression by subtraction (issue 13, item 4). An attacker reads every table a closed,
published campaign shows — the results pages, every subject's page, the 公示 page, the
意见汇总表, the 统计表, the summary report and the 汇总报告 — and adds and subtracts them
(a subject's total minus its shown categories, the campaign's category row minus the
subjects' shown cells, any mix of those). Nothing they can derive may rest on fewer than k
ballots: not the answers of a group of voters, not the opinions a group wrote.

The worlds are shaped like the demo (per branch 9 员工群众, 3 党员, 1 先进典型代表, and
5/5/1, 12/2/2, 6/4/0 …; a second campaign adds six 全评 ballots that rate every subject) and
checked with k = 5 and k = 3. The attacker is exact: over the cells (subject × category) it
row-reduces every published sum and asks, for every set of cells resting on fewer than k
ballots together, whether some nonzero combination of published figures lives on those
cells alone. Before it, the one deciding function (``suppression.hide``) and the
campaign-level audit (``suppression.hide_columns``) meet the same attacker on random tables."""

from __future__ import annotations

import html
import io
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from fractions import Fraction

import docx
import openpyxl
import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.demo.generate import generate
from pingyi.extensions import db
from pingyi.models import Answer, Campaign, Comment, EvaluatorCategory, FormItem, Subject, Unit, utcnow
from pingyi.org import orgtree
from pingyi.reports import opinions as opinions_report
from pingyi.reports import rollup_report, summary, tally_table
from pingyi.results import dashboard as rs
from pingyi.results import publication, tally
from pingyi.results.suppression import hide, hide_columns
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests.ballot_world import build
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

Cell = tuple  # (row or subject, column or category)

# ---- the attacker: exact linear algebra over the cells ------------------------------------------

P = (1 << 61) - 1  # ranks mod a large prime (equal to the rational ranks for tables of this size)


def _reduce(rows: list[list[int]], n: int) -> tuple[list[list[int]], list[int]]:
    m = [[x % P for x in r] for r in rows]
    pivots: list[int] = []
    for col in range(n):
        r = len(pivots)
        at = next((i for i in range(r, len(m)) if m[i][col]), None)
        if at is None:
            continue
        m[r], m[at] = m[at], m[r]
        inv = pow(m[r][col], P - 2, P)
        m[r] = [x * inv % P for x in m[r]]
        for i in range(len(m)):
            if i != r and m[i][col]:
                f = m[i][col]
                m[i] = [(a - f * b) % P for a, b in zip(m[i], m[r], strict=True)]
        pivots.append(col)
    return m[:len(pivots)], pivots


def _nullspace(rows: list[list[int]], n: int) -> list[list[int]]:
    """A basis of {x : row · x = 0 for every row}."""
    m, pivots = _reduce(rows, n)
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        x = [0] * n
        x[free] = 1
        for i, p in enumerate(pivots):
            x[p] = -m[i][free] % P
        basis.append(x)
    return basis


def derivable_small_groups(ballots: Mapping[Cell, frozenset], published: Iterable[Iterable[Cell]],
                           k: int) -> list[tuple[list[Cell], int]]:
    """Every group of cells, resting on more than 0 but fewer than k ballots together, on which
    some nonzero combination of the published sums lives (so the attacker learns something
    about those few voters alone): (the cells it weighs, their ballots), one per maximal set
    of small cells. A combination v of cells is derivable iff it is orthogonal to the null
    space of the published sums."""
    cells = sorted((c for c, b in ballots.items() if b), key=repr)
    at = {c: i for i, c in enumerate(cells)}
    rows = []
    for group in {frozenset(g) for g in published}:
        row = [0] * len(cells)
        for c in group:
            if c in at:
                row[at[c]] = 1
        rows.append(row)
    null = _nullspace(rows, len(cells))
    small = {ballots[c] for c in cells if len(ballots[c]) < k}
    unions, todo = set(small), list(small)
    while todo:
        u = todo.pop()
        for s in small:
            w = u | s
            if len(w) < k and w not in unions:
                unions.add(w)
                todo.append(w)
    found = []
    for u in (u for u in unions if not any(u < w for w in unions)):
        group = [c for c in cells if ballots[c] <= u]
        solutions = _nullspace([[v[at[c]] for c in group] for v in null], len(group)) if null else [[1] * len(group)]
        if solutions:
            weighed = [c for c, x in zip(group, solutions[0], strict=True) if x]
            found.append((weighed, len(frozenset().union(*(ballots[c] for c in weighed)))))
    return found


def _published_sets(table: Mapping[Cell, frozenset], row_hidden: Mapping, columns_hidden: Iterable,
                    ) -> list[set[Cell]]:
    """What a campaign publishes of a table: every row's total, the shown cells, the shown
    columns' totals, the grand total."""
    rows: dict = defaultdict(set)
    cols: dict = defaultdict(set)
    for cell in table:
        rows[cell[0]].add(cell)
        cols[cell[1]].add(cell)
    out = [set(table)]
    for r, cells in rows.items():
        out.append(cells)
        out += [{c} for c in cells if c[1] not in row_hidden[r]]
    out += [cells for col, cells in cols.items() if col not in set(columns_hidden)]
    return out


# ---- the one function, and the campaign-level audit, on random tables ---------------------------

def test_hide_examples_from_the_issue():
    assert hide({"员工群众": 45, "党员": 3, "先进": 1}, 5) == {"员工群众", "党员", "先进"}  # 4 hidden: not enough
    assert hide({"员工群众": 5, "党员": 5, "先进": 1}, 5) == {"党员", "先进"}  # ties: the smaller key goes
    assert hide({"员工群众": 9, "党员": 3, "先进": 1}, 3) == {"党员", "先进"}  # 4 ≥ 3: 员工群众 stays
    assert hide({"员工群众": 9, "党员": 6}, 5) == frozenset()
    assert hide({"员工群众": 7, "党员": 0}, 5) == frozenset()  # nobody behind 党员: nothing to protect
    assert hide({"员工群众": 3}, 5) == {"员工群众"}  # the whole breakdown
    assert hide({"员工群众": 9, "党员": 6, "先进": 7}, 5, also=["党员"]) == {"党员"}
    assert hide({"员工群众": 9, "党员": 6, "先进": 7}, 5, also=["党员"]) == hide({"先进": 7, "员工群众": 9, "党员": 6},
                                                                          5, also=["党员"])


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_hide_never_leaves_a_remainder_under_k(k):
    rng = random.Random(k)
    for _ in range(400):
        parts = {f"c{i}": rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 40]) for i in range(rng.randint(1, 6))}
        out = hide(parts, k)
        remainder = sum(parts[c] for c in out)
        assert all(c in out for c, n in parts.items() if 0 < n < k)
        assert not any(parts[c] == 0 for c in out)
        assert remainder == 0 or remainder >= k or out == {c for c, n in parts.items() if n}
        if out:  # no more than needed: without its largest part the remainder would be too small
            largest = max(out, key=lambda c: (parts[c], c))
            assert parts[largest] < k or 0 < remainder - parts[largest] < k
        # one table: the total and the shown parts; the attacker finds nothing under k in it
        table = {("s", c): frozenset(f"{c}{i}" for i in range(n)) for c, n in parts.items()}
        if sum(parts.values()) >= k:
            assert derivable_small_groups(table, _published_sets(table, {"s": out}, set(parts)), k) == []


def _random_table(rng: random.Random, k: int) -> tuple[dict, dict, dict]:
    """Subjects of a few units, each rated by its unit's voters of each category (a subject
    may miss some of them), plus sometimes a category of voters rating every subject."""
    table: dict = {}
    pools: dict = {}
    cols = range(rng.randint(2, 4))
    group = rng.random() < 0.4
    for unit in range(rng.randint(1, 5)):
        sizes = {col: rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 12]) for col in cols}
        for subject in range(rng.randint(1, 3)):
            row = (unit, subject)
            for col, n in sizes.items():
                keep = n if rng.random() < 0.8 else rng.randint(0, n)
                if keep:
                    table[(row, col)] = frozenset(f"{unit}/{col}/{i}" for i in range(keep))
                    pools[(row, col)] = {unit: keep}
            if group:
                table[(row, 99)] = frozenset(f"g{i}" for i in range(3))
                pools[(row, 99)] = {"top": 3}
    totals: dict = defaultdict(int)
    for (row, _col), b in table.items():
        totals[row] += len(b)
    small = {row for row, n in totals.items() if n < k}  # a subject rated by fewer than k: not a breakdown
    table = {c: b for c, b in table.items() if c[0] not in small}
    pools = {c: p for c, p in pools.items() if c[0] not in small}
    return table, pools, totals


@pytest.mark.parametrize("k", [3, 5])
def test_campaign_categories_never_open_a_subjects_hidden_cells(k):
    """hide_columns against the exact attacker: rows suppressed by ``hide``, columns by the
    audit; every sum the campaign shows, and every difference of them, rests on ≥ k ballots."""
    rng = random.Random(100 + k)
    forced = 0
    for _ in range(150):
        table, pools, _totals = _random_table(rng, k)
        if not table:
            continue
        rows: dict = defaultdict(dict)
        for (row, col), pool in pools.items():
            rows[row][col] = pool
        columns: dict = defaultdict(set)
        for (_row, col), b in table.items():
            columns[col] |= b
        parts = {col: len(b) for col, b in columns.items()}
        out = hide_columns(parts, rows.values(), k)
        assert {col for col, n in parts.items() if n < k} <= out
        assert sum(parts[col] for col in out) == 0 or sum(parts[col] for col in out) >= k or out == set(parts)
        forced += out != hide(parts, k)
        row_hidden = {row: hide({col: sum(p.values()) for col, p in cells.items()}, k) for row, cells in rows.items()}
        assert derivable_small_groups(table, _published_sets(table, row_hidden, out), k) == []
    assert forced  # the audit had work to do in some of these tables


def test_campaign_categories_stay_shown_when_many_units_hide_alike():
    """The demo's shape: every subject hides all three categories (9 + 3 + 1 ballots), but
    across 40 branches each campaign-level category rests on many; nothing to add."""
    rows = [{"员工群众": {u: 9}, "党员": {u: 3}, "先进": {u: 1}} for u in range(40) for _s in range(3)]
    assert hide_columns({"员工群众": 360, "党员": 120, "先进": 40}, rows, 5) == frozenset()
    lone = [{"员工群众": {0: 9}, "党员": {0: 3}, "先进": {0: 1}}] + [
        {"员工群众": {u: 9}, "党员": {u: 6}, "先进": {u: 5}} for u in range(1, 40)]
    # one branch hides its cells, the others show theirs: any campaign row minus the shown
    # cells would give that branch's
    assert hide_columns({"员工群众": 360, "党员": 237, "先进": 196}, lone, 5) == {"员工群众", "党员", "先进"}


def test_weighted_rate_only_where_the_subject_hides_no_category(app, world):
    """A weighted rate mixes the categories unevenly; beside the plain rate of a subject's
    hidden group it would tell the hidden categories apart, so it shows only where none is."""
    with app.app_context(), tenant_context(world.a.id):
        bw = build(world)
        c = db.session.get(Campaign, bw.campaign_id)
        cp.add_preset(c, "seed001-3")
        items = db.session.execute(select(FormItem.id).where(FormItem.kind == "rating")).scalars()
        generate(c, dict.fromkeys(items, Fraction(1, 5)))  # 5 群众 on 采煤一队, 2 全评, 2 群众 elsewhere
        c.weighting = True
        for k in cp.categories(c):
            k.weight = "0.5"
        cp.transition(c, "close")
        tally.recount(c.id)
        db.session.commit()
        branch_subject = db.session.execute(select(Subject.id).where(
            Subject.campaign_id == c.id, Subject.kind == "unit", Subject.unit_id == world.a.branch)).scalar_one()
        for k, weighted in ((2, True), (3, False)):  # k = 3: the 2 全评 ballots are hidden, 群众 beside them
            app.config["MIN_CELL"] = k
            rows = {s.id: s for _o, _sev, rows in rs.campaign_results(c).verdicts for s in rows}
            assert (rows[branch_subject].weighted is not None) is weighted
        app.config["MIN_CELL"] = 5


# ---- a demo-shaped world, every output read as the attacker reads it -----------------------------

SHAPES = [(9, 3, 1), (5, 5, 1), (7, 6, 5), (12, 2, 2), (6, 4, 0), (8, 6, 6), (6, 5, 5)]
CATEGORIES = ("员工群众", "党员", "先进典型代表")


def _campaign(world, name: str, group: int) -> int:
    """Branches of a new committee shaped by SHAPES (links per category), two members each,
    the seed-002 forms, ``group`` 全评 links at the committee; every link voted (generated
    ballots, opinions on about half the text items), closed, counted, published with opinions."""
    with tenant_context(world.a.id):
        top = orgtree.create_unit(f"{name}党委", db.session.get(Unit, world.a.root), "committee")
        branches = []
        for i, _shape in enumerate(SHAPES):
            b = orgtree.create_unit(f"{name}{i + 1}号支部", top, "branch")
            for j in range(2):
                orgtree.create_person(f"{name}{i + 1}支部党员{j + 1}", b)
            branches.append(b)
        now = utcnow()
        c = cp.create_campaign(name, now - timedelta(hours=1), now + timedelta(days=2), publication_scope="public")
        cp.add_subjects_bulk(c, "unit", top, q.copy_template("seed002-org"), ["branch"])
        cp.add_subjects_bulk(c, "person", top, q.copy_template("seed002-member"), ["branch"])
        rows = [{"name": n, "scope": "own_unit"} for n in CATEGORIES]
        if group:
            rows.append({"name": "全评", "scope": "group", "group_unit_id": top.id})
        cats = cp.set_categories(c, rows)
        cp.add_preset(c, "seed001-3")
        cp.add_preset(c, "seed003")
        for b, shape in zip(branches, SHAPES, strict=True):
            for k, n in zip(cats, shape, strict=False):
                if n:
                    tokens.issue_links(c, k, b, n)
        if group:
            tokens.issue_links(c, cats[3], top, group)
        cp.transition(c, "open")
        generate(c, {}, rng_seed=len(name) + group, opinion_rate=0.5)
        cp.transition(c, "close")
        tally.recount(c.id)
        cp.transition(c, "publish")
        cp.set_publication(c, "public", None, True)
        db.session.commit()
        return c.id


def _truth(campaign_id: int) -> dict:
    """What the attacker does not see: per cell its ballots, answers and opinions."""
    ballots: dict = defaultdict(set)
    answers: dict = defaultdict(int)
    comments: dict = defaultdict(int)
    for s, k, b in db.session.execute(select(Answer.subject_id, Answer.category_id, Answer.ballot_id)
                                      .where(Answer.campaign_id == campaign_id)):
        ballots[(s, k)].add(b)
        answers[(s, k)] += 1
    for s, k, b in db.session.execute(select(Comment.subject_id, Comment.category_id, Comment.ballot_id)
                                      .where(Comment.campaign_id == campaign_id)):
        ballots[(s, k)].add(b)
        comments[(s, k)] += 1
    return {"ballots": {c: frozenset(b) for c, b in ballots.items()}, "answers": answers, "comments": comments}


class Attacker:
    """Collects what is published as (cells summed, figure), checking each figure against the
    truth so that the sets are what the outputs really sum."""

    def __init__(self, truth: dict, subjects: dict[str, int], cats: dict[str, int], units: dict[str, set[int]]):
        self.truth, self.subjects, self.cats, self.units = truth, subjects, cats, units
        self.cells = set(truth["ballots"])
        self.seen: dict[str, list[set]] = {"answers": [], "comments": []}
        self.hidden: list[str] = []  # what the pages left out, for the test to know it had work

    def of_subjects(self, ids: Iterable[int], cat: int | None = None) -> set:
        ids = set(ids)
        return {c for c in self.cells if c[0] in ids and (cat is None or c[1] == cat)}

    def saw(self, channel: str, cells: set, figure: int, where: str) -> None:
        expected = sum(self.truth[channel].get(c, 0) for c in cells)
        assert figure == expected, f"{where}: reads {figure}, its cells hold {expected}"
        self.seen[channel].append(cells)

    def subject(self, label: str) -> int:
        return self.subjects[label]


def _html_rows(page: str, testid: str) -> list[list[str]]:
    table = page.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            out.append(cells)
    return out


def _read_everything(app, client, a: Attacker, c: Campaign, k: int) -> None:
    """Every output of the campaign, as data and as files/pages."""
    cats_by_name = a.cats
    # the admin dashboard (data), every unit, and its category table (the page itself)
    r = rs.campaign_results(c, None)
    a.saw("answers", set(a.cells), r.total.valid, "dashboard total")
    for row in r.units:
        a.saw("answers", a.of_subjects(a.units[row.unit.name]), row.figures.valid, f"unit {row.unit.name}")
    for _outcome, _sev, rows in r.verdicts:
        for s in rows:
            a.saw("answers", a.of_subjects([s.id]), s.figures.total, f"verdict {s.label}")
            assert s.weighted is None
    for s in r.lowest_subjects:
        a.saw("answers", a.of_subjects([s.id]), s.figures.total, f"lowest {s.label}")
    page = client.get(f"/t/alpha/campaigns/{c.id}/results?depth=all").text
    for cells in _html_rows(page, "categories"):
        if len(cells) == 5:  # shown: name, ballots, answers, rate, lowest
            cat = cats_by_name[cells[0]]
            a.saw("answers", {x for x in a.cells if x[1] == cat}, int(cells[2]), f"category {cells[0]}")
        else:
            assert len(cells) == 3 and (cells[1] == f"<{k}" or int(cells[1]) >= k), cells
            a.hidden.append("campaign category")
    for line in rs.subject_lines(c):
        a.saw("answers", a.of_subjects([line.id]), line.figures.total, f"subject line {line.label}")
    # every subject's page: total, items, categories, opinions
    for label, sid in a.subjects.items():
        d = rs.subject_detail(c, db.session.get(Subject, sid))
        a.saw("answers", a.of_subjects([sid]), d.figures.total, f"{label} total")
        page = client.get(f"/t/alpha/campaigns/{c.id}/results/subjects/{sid}").text
        for cells in _html_rows(page, "subject-categories"):
            if len(cells) == 4:
                a.saw("answers", a.of_subjects([sid], cats_by_name[cells[0]]), int(cells[2]), f"{label} {cells[0]}")
            else:
                assert len(cells) == 3 and (cells[1] == f"<{k}" or int(cells[1]) >= k), cells
                a.hidden.append("subject category" if cells[1] == f"<{k}" else "subject category ≥ k")
        named = re.findall(r'data-testid="opinion"><p>[^<]*</p><p class="muted small">[^<]* · ([^<]*)</p>', page)
        _opinion_labels(a, sid, [html.unescape(n) for n in named], f"{label} page", k)
        assert len(named) == len(d.opinions)
    # the 公示 page: data and page
    pub = publication.publication_data(c)
    a.saw("answers", set(a.cells), pub.results.total.valid, "公示 total")
    for line in pub.subjects:
        a.saw("answers", a.of_subjects([line.id]), line.figures.total, f"公示 {line.label}")
    page = app.test_client().get(f"/p/alpha/{c.id}").text
    for cells in _html_rows(page, "subjects"):
        a.saw("answers", a.of_subjects([a.subject(cells[0])]), int(cells[2]), f"公示 page {cells[0]}")
    by_subject: dict = defaultdict(list)
    for g in pub.opinions:
        for _item, ops in g.items:
            by_subject[a.subject(g.subject)] += [o.category for o in ops]
    for sid, labels in by_subject.items():
        _opinion_labels(a, sid, labels, "公示", k)
    shown = re.findall(r'data-testid="opinion-category">([^<]*)</span>', page)
    assert sorted(html.unescape(x) for x in shown) == sorted(x for labels in by_subject.values() for x in labels)
    # 意见汇总表 (the file): every opinion's category, and the counts per subject and category
    wb = openpyxl.load_workbook(io.BytesIO(opinions_report.workbook(c)))
    labels_of: dict = defaultdict(list)
    for name in wb.sheetnames[1:]:
        for row in wb[name].iter_rows(min_row=4, values_only=True):
            if row[4]:
                labels_of[a.subject(row[1])].append(row[5])
    for sid, labels in labels_of.items():
        _opinion_labels(a, sid, labels, "意见汇总表", k)
    counts = wb["按对象统计"]
    head = [x for x in next(counts.iter_rows(min_row=3, max_row=3, values_only=True))]
    for row in counts.iter_rows(min_row=4, values_only=True):
        sid = a.subject(row[0])
        a.saw("comments", a.of_subjects([sid]), row[2], f"意见汇总表 {row[0]}")
        for name, value in zip(head[3:], row[3:], strict=False):
            if value != f"<{k}":
                a.saw("comments", a.of_subjects([sid], cats_by_name[name]), value, f"意见汇总表 {row[0]} {name}")
    # 统计表 (the file): units and subjects, no category anywhere
    wb = openpyxl.load_workbook(io.BytesIO(tally_table.workbook(c)))
    for row in wb["汇总"].iter_rows(min_row=4, values_only=True):
        a.saw("answers", a.of_subjects(a.units[row[0].lstrip("　")]), row[7], f"统计表 {row[0]}")
    for name in wb.sheetnames[1:]:
        for row in wb[name].iter_rows(min_row=3, values_only=True):
            a.saw("answers", a.of_subjects([a.subject(row[0])]), row[-2], f"统计表 {row[0]}")
    texts = {str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    assert not texts & set(cats_by_name)
    # the summary report (the Word file): its unit table and verdict lists
    document = docx.Document(io.BytesIO(summary.docx(c)))
    for table in document.tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        for row in rows[1:]:
            if rows[0][0] == "单位":
                cells = set(a.cells) if row[0] == "合计" else a.of_subjects(a.units[row[0]])
                a.saw("answers", cells, int(row[3]), f"summary {row[0]}")
            else:
                a.saw("answers", a.of_subjects([a.subject(row[0])]), int(row[1]), f"summary {row[0]}")
    # 汇总报告 (the file): the campaign and every unit subtree
    wb = openpyxl.load_workbook(io.BytesIO(rollup_report.make("xlsx", c)))
    for row in wb["汇总"].iter_rows(min_row=4, values_only=True):
        if row[1] == c.name:
            unit = row[0].lstrip("　")
            cells = set(a.cells) if unit.endswith("（合计）") else a.of_subjects(a.units[unit])
            a.saw("answers", cells, row[8], f"汇总报告 {unit}")


def _opinion_labels(a: Attacker, sid: int, labels: list[str], where: str, k: int) -> None:
    """A subject's opinions as listed: all of them (its opinions' count), and each named
    category's count (an opinion named 党员 comes from that cell's voters)."""
    a.saw("comments", a.of_subjects([sid]), len(labels), f"{where}: opinions of subject {sid}")
    for name in set(labels) - {f"<{k}"}:
        a.saw("comments", a.of_subjects([sid], a.cats[name]), labels.count(name), f"{where}: {name} on {sid}")


def _attack(app, client, world, campaign_id: int, k: int) -> list[str]:
    app.config["MIN_CELL"] = k
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        truth = _truth(campaign_id)
        subjects = dict(db.session.execute(select(Subject.label, Subject.id)
                                           .where(Subject.campaign_id == campaign_id)).all())
        cats = dict(db.session.execute(select(EvaluatorCategory.name, EvaluatorCategory.id)
                                       .where(EvaluatorCategory.campaign_id == campaign_id)).all())
        units = {}
        rated = {sid: unit for sid, unit in db.session.execute(
            select(Subject.id, Unit.path).join(Unit, Unit.id == Subject.unit_id)
            .where(Subject.campaign_id == campaign_id)).all()}
        for u in db.session.execute(select(Unit)).scalars():
            units[u.name] = {sid for sid, path in rated.items() if path.startswith(u.path)}
        a = Attacker(truth, subjects, cats, units)
        _read_everything(app, client, a, c, k)
        subject_names, cat_names = {v: n for n, v in subjects.items()}, {v: n for n, v in cats.items()}
        found = []
        for channel, seen in a.seen.items():
            for cells, n in derivable_small_groups(truth["ballots"], seen, k):
                line = f"{channel}: " + " + ".join(f"{subject_names[s]}/{cat_names[cat]}" for s, cat in cells)
                if line + f" → {n} ballots" not in found:
                    found.append(line + f" → {n} ballots")
        # the outputs showed categories and hid some, small ones and others beside them
        assert a.seen["answers"] and a.seen["comments"]
        assert {"campaign category", "subject category", "subject category ≥ k"} <= set(a.hidden)
        assert len(a.seen["answers"]) > len(a.subjects) * 8  # each subject in eight outputs at least
        return found


@pytest.mark.parametrize("group", [0, 6], ids=["demo-shape", "with-group"])
def test_no_published_table_lets_subtraction_reach_fewer_than_k_ballots(app, world, client, group):
    with app.app_context():
        cid = _campaign(world, f"评议{group}", group)
    login(client, world.a.admin)
    try:
        for k in (5, 3):
            found = _attack(app, client, world, cid, k)
            assert found == [], f"k = {k}: " + "; ".join(found[:8])
    finally:
        app.config["MIN_CELL"] = 5
