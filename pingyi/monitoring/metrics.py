"""Prometheus metrics, every name starting ``pingyi_``. Two kinds:

- Counted by the process that saw it: requests by route (the URL rule, ``/b/<link>``, never the
  path), method and status; request durations by route; ballots accepted (one counter for the
  whole service: no tenant, campaign or unit label that could narrow down when a ballot was
  cast). Under gunicorn each worker process counts its own: with ``PROMETHEUS_MULTIPROC_DIR``
  (deploy/gunicorn.conf.py sets one) they write to files there and ``render`` sums them over
  every process; without it they are this process's counts.
- Read from the database and Redis when scraped: each part up or not, queue depth, the live
  tallies' lag and job durations (from the job rows, so a job run on any worker host counts).
  Every web host reports the same figures: aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client import exposition as _exposition
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select

from pingyi.extensions import db
from pingyi.models import Campaign, Job, TallyRun, utcnow
from pingyi.results import live
from pingyi.tenancy import unscoped
from pingyi.voting import mixer
from pingyi.voting.ballots import ballot_boxed

from . import health

log = logging.getLogger(__name__)

CONTENT_TYPE = _exposition.CONTENT_TYPE_LATEST
# Read when this module is first imported: prometheus_client picks its value store then as well.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a request no route took (404, 405): its path is not a label
JOB_BUCKETS = (0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

disable_created_metrics()  # no *_created series: multiprocess mode has none either
_LOCAL = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("pingyi_http_requests", "HTTP requests answered, by route (URL rule), method and status",
                   ["route", "method", "status"], registry=_LOCAL)
REQUEST_SECONDS = Histogram("pingyi_http_request_duration_seconds", "Time to answer a request, by route",
                            ["route"], registry=_LOCAL,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
BALLOTS = Counter("pingyi_ballots_accepted", "Ballots stored in the sealed box (online and paper)",
                  registry=_LOCAL)


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request (``route``: the matched URL rule, None when none matched)."""
    route = route or UNMATCHED
    REQUESTS.labels(route, method if method in METHODS else "other", str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(seconds)


@ballot_boxed.connect
def _ballot_accepted(_sender, **_ids) -> None:
    """After a ballot's commit: one increment, nothing about the ballot (the voter waits on it)."""
    BALLOTS.inc()


# ---- read when scraped --------------------------------------------------------------------

def live_tally_lag(now: datetime) -> float:
    """Seconds since the last tally of the campaign that has waited longest with work for one
    (ballots in the box, at least k of them while it is open, or moved but not counted); 0 when
    none waits. After a quiet spell it jumps for the few seconds until the next run asked for
    (LIVE_TALLY_DELAY): alert on it staying high. Across tenants, with no campaign named."""
    work = live.waiting_work(mixer.batch_size())
    if not work:
        return 0.0
    ids = sorted({campaign_id for _tenant, campaign_id in work})
    with unscoped():
        rows = db.session.execute(
            select(Campaign.opens_at, Campaign.opened_at, TallyRun.computed_at)
            .outerjoin(TallyRun, (TallyRun.campaign_id == Campaign.id) & (TallyRun.tenant_id == Campaign.tenant_id))
            .where(Campaign.id.in_(ids))).all()
    since = [computed or opened or opens for opens, opened, computed in rows]
    return max([0.0] + [(now - t).total_seconds() for t in since if t is not None])


def job_durations() -> list[tuple[str, list[int], int, float]]:
    """Per job kind, over every finished job row (done or failed; its last attempt): the
    cumulative count at each of ``JOB_BUCKETS``, the count and the sum of seconds."""
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", Job.finished_at - Job.started_at)
    else:  # SQLite keeps the times as text
        seconds = (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    columns = [Job.kind, func.count(), func.coalesce(func.sum(seconds), 0.0)]
    columns += [func.sum(case((seconds <= bound, 1), else_=0)) for bound in JOB_BUCKETS]
    with unscoped():
        rows = db.session.execute(
            select(*columns).where(Job.started_at.is_not(None), Job.finished_at.is_not(None),
                                   Job.state.in_(("done", "failed"))).group_by(Job.kind).order_by(Job.kind)).all()
    return [(kind, [int(n or 0) for n in buckets], int(count), float(total)) for kind, count, total, *buckets in rows]


class _Scraped:
    """The figures read for one scrape, as metric families."""

    def __init__(self, parts: dict, lag: float | None, jobs: list | None) -> None:
        self.parts, self.lag, self.jobs = parts, lag, jobs

    def collect(self):
        up = GaugeMetricFamily("pingyi_up", "1 when the part answers, 0 when it is down (parts not configured are left out)",
                               labels=["part"])
        for name, part in self.parts.items():
            if part["status"] in (health.OK, health.DOWN):
                up.add_metric([name], 1.0 if part["status"] == health.OK else 0.0)
        yield up
        depth = GaugeMetricFamily("pingyi_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        for queue, n in self.parts.get("queues", {}).get("depth", {}).items():
            depth.add_metric([queue], float(n))
        yield depth
        if self.lag is not None:
            yield GaugeMetricFamily("pingyi_live_tally_lag_seconds",
                                    "Age of the oldest live tally among campaigns with ballots waiting for one",
                                    value=self.lag)
        if self.jobs is not None:
            durations = HistogramMetricFamily("pingyi_job_duration_seconds",
                                              "Duration of finished jobs (their last attempt), by kind", labels=["kind"])
            for kind, cumulative, count, total in self.jobs:
                buckets = [(repr(b), float(n)) for b, n in zip(JOB_BUCKETS, cumulative, strict=True)]
                durations.add_metric([kind], buckets + [("+Inf", float(count))], total)
            yield durations


class _ThisProcess:
    def collect(self):
        return _LOCAL.collect()


def scrape() -> _Scraped:
    """Read the service's state: the health checks, then (when the database answered) the lag
    and the job durations. A failure leaves its figures out, never the whole answer."""
    parts = health.check()["parts"]
    lag = jobs = None
    if parts["database"]["status"] == health.OK:
        try:
            lag = live_tally_lag(utcnow())
            jobs = job_durations()
        except Exception:
            log.warning("metrics: the database figures could not be read", exc_info=True)
        finally:
            db.session.rollback()
    return _Scraped(parts, lag, jobs)


def render() -> bytes:
    """The exposition text: the counts of every process (or this one) and the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(scrape())
    return generate_latest(registry)
