"""``pingyi bench links``: issue N links with their QR slip PDF into a scratch tenant.

Prints {"links", "seconds", "pdf_pages", "pdf_parts", "peak_mb", …}; the goal on the 2-core machine is
100 000 links in under 60 s. Baselines measured in the same run: the time to hash and insert
the links alone, and to render the slips alone, so the ratio shows where the time goes.
"""

from __future__ import annotations

import resource
import secrets
import time
from datetime import timedelta

from sqlalchemy import delete, select

from pingyi.campaigns import lifecycle as campaigns
from pingyi.extensions import db
from pingyi.models import BallotToken, JobFile, Tenant, utcnow
from pingyi.org import accounts, orgtree
from pingyi.tenancy import tenant_context
from pingyi.voting import issuing


def run(count: int, per_unit: int = 20, keep: bool = False) -> dict:
    slug = f"bench-{secrets.token_hex(3)}"
    tenant = accounts.create_tenant(slug, "基准测试")
    db.session.commit()
    try:
        with tenant_context(tenant.id):
            root = orgtree.create_unit("基准公司党委", None, "committee")
            units = -(-count // per_unit)
            for i in range(units):
                orgtree.create_unit(f"第{i + 1}党支部", root, "branch")
            now = utcnow()
            c = campaigns.create_campaign("基准评议", now, now + timedelta(days=30))
            k = campaigns.set_categories(c, [{"name": "群众"}])[0]
            db.session.commit()
            start = time.perf_counter()
            job = issuing.submit_issue(c, k, root, ["branch"], per_unit, "https://pingyi.example.cn",
                                       run_here=True)  # measure the job itself, in this process
            seconds = time.perf_counter() - start
            if job.state != "done":
                raise RuntimeError(job.error)
            sizes: dict[str, int] = {}  # by extension: the slips come in parts (issuing.pdf_parts)
            for name, size in db.session.execute(select(JobFile.name, JobFile.size).where(JobFile.job_id == job.id)):
                sizes[name.rsplit(".", 1)[1]] = sizes.get(name.rsplit(".", 1)[1], 0) + size
            result = {"links": job.result["links"], "seconds": round(seconds, 2), "pdf_pages": job.result["pdf_pages"],
                      "pdf_parts": job.result["pdf_parts"],
                      "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "links_per_s": round(job.result["links"] / seconds), "pdf_mb": round(sizes["pdf"] / 1e6, 1),
                      "xlsx_mb": round(sizes["xlsx"] / 1e6, 1), "db": db.engine.dialect.name,
                      **job.result["timings"]}
    finally:
        if not keep:
            with tenant_context(tenant.id):
                db.session.execute(delete(BallotToken))
            db.session.execute(delete(Tenant).where(Tenant.id == tenant.id))
            db.session.commit()
    return result
