"""The results and jobs API: a campaign's figures equal the stored tally's (the results page's
numbers), the subject table pages in the database, and a report job is started, followed and
its file fetched through the API alone; roles and tenancy as on the pages — SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest

from pingyi.results import tally
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.web.test_api_campaigns import Api, _key_for

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


@pytest.fixture
def counted(app, world):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 0, 1, 3, 3))
        vote(world, bw, bw.other_branch[:2], (0, 1))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            result, _kinds = tally.stored_result(bw.campaign_id)
    return bw, result


def test_results_are_the_stored_tallys_figures(app, world, counted):
    bw, result = counted
    api = Api(app, _key_for(app, world.a.admin))
    r = api.get(f"/campaigns/{bw.campaign_id}/results")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["view"] == "full" and body["ballots"] == 7 and body["campaign"]["state"] == "closed"
    rates = sorted(i["satisfied"]["rate"] for i in body["items"])
    assert rates == sorted(tally.percent(f.satisfied_share) for f in result.by_item.values() if f.total)
    assert sum(i["answers"] for i in body["items"]) == sum(f.total for f in result.by_item.values())
    assert body["total"]["links_used"] == 7 and body["total"]["answers"] == body["total"]["answers"] > 0
    # the subject table, paged and sorted by the database, equals the stored figures
    seen, page = [], 1
    while True:
        r = api.get(f"/campaigns/{bw.campaign_id}/results/subjects?sort=label&per_page=2&page={page}").json
        seen += r["subjects"]
        if page * 2 >= r["total"]:
            break
        page += 1
    assert len(seen) == r["total"] and len({s["id"] for s in seen}) == len(seen)
    for s in seen:
        f = result.by_subject.get(s["id"], tally.Figures())
        assert s["answers"] == f.total
        assert (s["satisfied"] or {}).get("rate") == (tally.percent(f.satisfied_share) if f.total else None)
    assert [s["label"] for s in seen] == sorted(s["label"] for s in seen)


def test_a_report_job_is_started_followed_and_fetched_through_the_api(app, world, counted):
    bw, result = counted
    api = Api(app, _key_for(app, world.a.admin))
    started = api.post(f"/campaigns/{bw.campaign_id}/reports", {"kind": "tally", "format": "xlsx"})
    assert started.status_code == 202, started.json
    job = started.json
    deadline = time.monotonic() + 60
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.c.get(job["url"], headers=api.h).json
    assert job["state"] == "done" and job["percent"] == 100, job
    (file,) = job["files"]
    assert file["name"].endswith(".xlsx") and file["available"] and not file["download_once"]
    got = api.c.get(file["url"], headers=api.h)
    assert got.status_code == 200 and got.data[:2] == b"PK" and len(got.data) == file["size"]
    sheet = openpyxl.load_workbook(io.BytesIO(got.data)).worksheets[0]
    assert any(isinstance(v, str) and "满意" in v for row in sheet.iter_rows(values_only=True) for v in row)
    # refusals: an unknown kind (422, nothing started); a viewer may read results, not start jobs
    bad = api.post(f"/campaigns/{bw.campaign_id}/reports", {"kind": "nonsense", "format": "xlsx"})
    assert bad.status_code == 422 and bad.json["field"] == "kind"
    viewer = Api(app, _key_for(app, world.a.viewer))
    assert viewer.get(f"/campaigns/{bw.campaign_id}/results").status_code == 200
    assert viewer.post(f"/campaigns/{bw.campaign_id}/reports", {"kind": "tally", "format": "xlsx"}).status_code \
        == 403
    # another tenant's key reaches neither the campaign nor the job nor its file
    other = Api(app, _key_for(app, world.b.admin), slug=world.b.slug)
    assert other.get(f"/campaigns/{bw.campaign_id}/results").status_code == 404
    assert other.get(f"/jobs/{job['id']}").status_code == 404
    assert other.get(f"/jobs/{job['id']}/files/{file['id']}").status_code == 404


def test_an_open_campaign_reads_as_its_page_does(app, world):
    """While open with live results off: turnout only, no figure; reports refused."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 0, 1, 3, 3))
    api = Api(app, _key_for(app, world.a.admin))
    body = api.get(f"/campaigns/{bw.campaign_id}/results").json
    assert body["view"] == "turnout" and body["items"] == [] and body["verdicts"] == []
    subjects = api.get(f"/campaigns/{bw.campaign_id}/results/subjects").json["subjects"]
    assert subjects and all(s["answers"] == 0 and s["satisfied"] is None for s in subjects)
    assert api.post(f"/campaigns/{bw.campaign_id}/reports", {"kind": "tally", "format": "xlsx"}).status_code == 422
