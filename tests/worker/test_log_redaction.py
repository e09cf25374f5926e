"""A job that fails with a ballot link in its error logs neither the link's secret nor its short
code: run in-process (no Redis), and on a real `pingyi worker` whose RQ lines name each job with
its arguments (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys

from pingyi import jobs
from pingyi.queue import get_queue
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import servers
from tests.ballot_world import build


def _leaks(text: str, link: tokens.IssuedLink) -> list[str]:
    return [c for c in (link.secret, link.short_code, tokens.format_code(link.short_code)) if c in text]


def test_a_job_failing_with_a_link_is_logged_without_it(app, world, monkeypatch, caplog, root_log):
    with app.app_context():
        link = build(world).own[0]

    def work(_job) -> None:
        raise RuntimeError(f"slip for https://pingyi.example/b/{link.secret} "
                           f"({tokens.format_code(link.short_code)}) not drawn")

    monkeypatch.setitem(jobs._KINDS, "leak_test", jobs.Kind(work, "bulk", 60))
    with app.app_context(), tenant_context(world.a.id):
        job = jobs.submit("leak_test", {})
        assert job.state == "failed"
    logged = root_log.getvalue()
    assert f"job {job.id} failed" in logged and "slip for https://pingyi.example/b/<token> (<code>)" in logged
    assert _leaks(logged, link) == [] and _leaks(caplog.text, link) == []


def test_a_real_worker_logs_no_link(rq_app, world, database):
    """RQ logs every job as ``func(args)`` when it starts and its traceback when it fails."""
    with rq_app.app_context():
        link = build(world).own[0]
        url = f"https://pingyi.example/b/{link.secret}?code={tokens.format_code(link.short_code)}"
        get_queue("bulk").enqueue("builtins.int", url)  # fails: invalid literal for int()
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": rq_app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "bulk"],
                          env=env, capture_output=True, text=True, timeout=300)
    logged = done.stdout + done.stderr
    assert done.returncode == 0, logged[-2000:]
    assert "https://pingyi.example/b/<token>?code=<code>" in logged and "ValueError" in logged
    assert _leaks(logged, link) == [], logged[-3000:]
