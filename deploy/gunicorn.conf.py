"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``."""

import multiprocessing
import os

bind = os.environ.get("PINGYI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PINGYI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 60
accesslog = "-"
# Ballot links carry their secret in the path: the error log ("-": stderr), the access log and
# the app's own log lines say /b/<token> and code=<code>, never the secret (pingyi.logsafe).
logger_class = "pingyi.web.weblog.RedactingLogger"
