"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

The worker model was chosen by measurement (``pingyi bench ballots``, README: "Votes under
load and faults"): see the figures there. Each setting can be overridden from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("PINGYI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PINGYI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("PINGYI_THREADS", 1))
worker_class = os.environ.get("PINGYI_WORKER_CLASS", "gthread" if threads > 1 else "sync")
keepalive = 5  # gthread keeps a phone's connection for its next request (sync closes after each)
timeout = 60
# One database connection per thread that can hold one (pingyi.config reads it): a process
# never opens more than it can use, and PostgreSQL's max_connections covers workers × threads.
os.environ.setdefault("PINGYI_DB_POOL_SIZE", str(threads))
accesslog = os.environ.get("PINGYI_ACCESS_LOG", "-") or None
# Ballot links carry their secret in the path: the error log ("-": stderr), the access log and
# the app's own log lines say /b/<token> and code=<code>, never the secret (pingyi.logsafe).
logger_class = "pingyi.web.weblog.RedactingLogger"

# /metrics sums the counts of every worker process (prometheus_client's multiprocess mode): each
# process writes its own to files in PROMETHEUS_MULTIPROC_DIR, one directory per gunicorn server,
# emptied when it starts. Unset, a directory of this server's own is made (and removed on exit;
# those of servers that were killed are removed by the next start). Set here, before any worker
# imports prometheus_client, which reads it once.
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import glob
    import shutil
    import tempfile

    for _left in glob.glob(os.path.join(tempfile.gettempdir(), "pingyi-metrics-*-*")):
        _pid = os.path.basename(_left).split("-")[2]
        if _pid.isdigit() and not _alive(int(_pid)):
            shutil.rmtree(_left, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"pingyi-metrics-{os.getpid()}-")


def on_starting(server):
    """The counts start from zero with the server (Prometheus reads a restart as a reset)."""
    import glob

    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    """A worker process that ended: its files' counts stay in the sums, its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this config made (an operator's own is left in place)."""
    import shutil
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.basename(path).startswith("pingyi-metrics-") and os.path.dirname(path) == tempfile.gettempdir():
        shutil.rmtree(path, ignore_errors=True)
