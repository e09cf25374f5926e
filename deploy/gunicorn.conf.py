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
