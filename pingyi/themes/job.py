"""The ``themes`` job kind (``reports`` queue): group and count one campaign's opinions
(``counts.compute``). Queued from the themes page, run in-process when there is no Redis."""

from __future__ import annotations

from pingyi import jobs
from pingyi.models import Campaign
from pingyi.tenancy import get_scoped

from . import counts

KIND = "themes"


def submit(c: Campaign, user_id: int | None = None, run_here: bool = False):
    """Queue (or run here) the grouping of ``c``'s opinions; refuses an open or untallied campaign first."""
    counts.check_ready(c)
    return jobs.submit(KIND, {"campaign_id": c.id}, total=1, user_id=user_id, run_here=run_here)


@jobs.handles(KIND, queue="reports", timeout=1800)
def run_themes_job(job) -> None:
    c = get_scoped(Campaign, job.params["campaign_id"])
    if c is None:
        raise LookupError(f"no campaign {job.params['campaign_id']}")
    run = counts.compute(c)
    job.result = {"opinions": run.opinions, "themes": len(run.rules), "tally_version": run.tally_version}
    job.done = job.total = 1
