"""/metrics: Prometheus text that parses, every name ``pingyi_``; a ballot adds one to the
ballots counter and leaves no trace of its link in any label (routes are URL rules); job
durations come from the job rows, the live-tally lag from the box; under gunicorn the counts of
two worker processes are summed (prometheus_client's multiprocess mode, deploy/gunicorn.conf.py)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from pingyi.extensions import db
from pingyi.models import Campaign, Job, TallyRun, utcnow
from pingyi.results import live
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import servers
from tests.ballot_world import build, full_answers

ROOT = Path(__file__).parents[2]


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _scrape(app) -> dict:
    r = app.test_client().get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    return _families(r.get_data(as_text=True))


def _value(families: dict, name: str, sample: str | None = None, **labels) -> float:
    family = families[name]
    found = [s.value for s in family.samples
             if s.name == (sample or name) and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found)


def _credentials(link: tokens.IssuedLink) -> list[str]:
    return [link.secret, link.short_code, tokens.format_code(link.short_code)]


def test_the_exposition_parses_and_a_ballot_counts_once_without_its_link(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        link = bw.own[0]
        answers = full_answers(world, bw, link.secret)
    before = _scrape(app)
    assert client.get(f"/b/{link.short_code}").status_code == 200
    assert client.post(f"/b/{link.secret}", data=answers).status_code == 200
    assert client.post(f"/b/{link.secret}", data=answers).status_code == 409  # used: no second count
    assert client.get("/no/such/page/b/x").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    after = _families(text)

    assert all(name.startswith("pingyi_") for name in after), sorted(after)
    assert _value(after, "pingyi_ballots_accepted", "pingyi_ballots_accepted_total") == \
        _value(before, "pingyi_ballots_accepted", "pingyi_ballots_accepted_total") + 1
    requests = "pingyi_http_requests"
    assert _value(after, requests, requests + "_total", route="/b/<link>", method="POST", status="200") == \
        _value(before, requests, requests + "_total", route="/b/<link>", method="POST", status="200") + 1
    assert _value(after, requests, requests + "_total", route="unmatched", status="404") >= 1
    routes = {s.labels["route"] for s in after[requests].samples}
    assert routes <= {r.rule for r in app.url_map.iter_rules()} | {"unmatched"}, routes
    assert [c for c in _credentials(link) if c in text] == []
    assert _value(after, "pingyi_up", part="database") == 1
    assert "pingyi_ballots_accepted" in after and after["pingyi_ballots_accepted"].samples[0].labels == {}


def test_job_durations_are_read_from_the_job_rows(app, world):
    now = utcnow()
    with app.app_context(), tenant_context(world.a.id):
        for kind, seconds, state in (("report", 2.5, "done"), ("report", 40, "failed"), ("tally", 0.2, "done")):
            db.session.add(Job(kind=kind, state=state, params={}, started_at=now - timedelta(seconds=seconds),
                               finished_at=now))
        db.session.add(Job(kind="report", state="running", params={}, started_at=now))  # not finished: left out
        db.session.commit()
    families = _scrape(app)
    name = "pingyi_job_duration_seconds"
    assert _value(families, name, name + "_count", kind="report") == 2
    assert _value(families, name, name + "_sum", kind="report") == pytest.approx(42.5, abs=0.01)
    assert _value(families, name, name + "_bucket", kind="report", le="1.0") == 0
    assert _value(families, name, name + "_bucket", kind="report", le="5.0") == 1
    assert _value(families, name, name + "_bucket", kind="report", le="60.0") == 2
    assert _value(families, name, name + "_bucket", kind="tally", le="0.5") == 1


def test_the_live_tally_lag_grows_while_ballots_wait_and_drops_after_the_run(unbatched, world):
    app = unbatched
    app.config["LIVE_TALLY_DELAY"] = 600  # the in-process run waits until drained
    with app.app_context():
        bw = build(world)
        answers = full_answers(world, bw, bw.own[0].secret)
        with tenant_context(world.a.id):
            db.session.execute(update(Campaign).where(Campaign.id == bw.campaign_id)
                               .values(opened_at=utcnow() - timedelta(minutes=5)))
            db.session.execute(update(TallyRun).where(TallyRun.campaign_id == bw.campaign_id)
                               .values(computed_at=utcnow() - timedelta(minutes=5)))
            db.session.commit()
    assert _value(_scrape(app), "pingyi_live_tally_lag_seconds") == 0  # nothing waits
    assert app.test_client().post(f"/b/{bw.own[0].secret}", data=answers).status_code == 200
    lag = _value(_scrape(app), "pingyi_live_tally_lag_seconds")
    assert 290 < lag < 400
    live.drain(app)
    assert _value(_scrape(app), "pingyi_live_tally_lag_seconds") == 0


# ---- two gunicorn worker processes -------------------------------------------------------------

def _get(port: int, path: str, data: bytes | None = None) -> tuple[int, str, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # nosec B310 # loopback test server
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def _per_process_requests(directory: Path) -> dict[str, float]:
    """Requests counted in each process's file of the multiprocess directory."""
    from prometheus_client.mmap_dict import MmapedDict

    out = {}
    for path in directory.glob("counter_*.db"):
        try:
            values = list(MmapedDict.read_all_values_from_file(str(path)))
        except (struct.error, RuntimeError):  # a worker is creating it this very moment
            continue
        out[path.stem] = sum(v for key, v, _ts, _pos in values if '"pingyi_http_requests"' in key.split(",")[0])
    return out


def _stale_file(path: Path) -> None:
    """A previous server's counts: 1000 requests to /healthz."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    stale = MmapedDict(str(path))
    stale.write_value(mmap_key("pingyi_http_requests", "pingyi_http_requests_total", ["route", "method", "status"],
                               ["/healthz", "GET", "200"], ""), 1000.0, 0.0)
    stale.close()


def test_two_gunicorn_workers_are_summed(app, database, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _stale_file(metrics_dir / "counter_99999.db")  # emptied when the server starts
    port = servers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGYI_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=database[1], PINGYI_BIND=f"127.0.0.1:{port}", PINGYI_WORKERS="2", SECRET_KEY="test",
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), PINGYI_ACCESS_LOG="")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                "--no-control-socket", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            try:
                _get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert not (metrics_dir / "counter_99999.db").exists()
        sent = 0
        while True:  # concurrent requests, until both processes have answered some
            threads = [threading.Thread(target=_get, args=(port, "/healthz")) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            sent += 8
            counts = _per_process_requests(metrics_dir)
            if len([n for n in counts.values() if n]) >= 2 or sent > 400:
                break
        assert len([n for n in counts.values() if n]) >= 2, counts
        status, text, _ = _get(port, "/metrics")
        assert status == 200
        families = _families(text)
        name = "pingyi_http_requests"
        total = _value(families, name, name + "_total", route="/healthz")
        assert total == sum(counts.values()) == sent + 1  # every process's count, once
        assert all(n.startswith("pingyi_") for n in families)
    finally:
        process.terminate()
        process.wait(30)
