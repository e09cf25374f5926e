"""Settings from the environment, with defaults that need no servers."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    """Raised when the environment would make the app unsafe to start."""


def _default_sqlite(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(instance_path) / "pingyi.sqlite3")


def normalize_db_url(url: str) -> str:
    """Route plain ``postgres://`` and ``postgresql://`` URLs through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


ENVIRONMENTS = ("development", "production")
MIN_SECRET_BYTES = 32


def _int(env, name: str, default: int, low: int = 0) -> int:
    raw = env.get(name)
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < low:
        raise ConfigError(f"{name}={value} must be at least {low}")
    return value


def _limit(env, name: str, default: str) -> str:
    """A rate limit in Flask-Limiter's words ("30 per minute; 300 per hour"), checked now so a typo
    stops the start instead of failing the first request that meets it."""
    from limits import parse_many

    value = env.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a rate limit such as '30 per minute; 300 per hour'") from None
    return value


LOG_FORMATS = ("text", "json")


def _networks(env, name: str, default: str) -> list[str]:
    """Comma-separated networks (``10.0.0.0/8,::1/128``; a bare address is one host), checked now."""
    import ipaddress

    value = env.get(name)
    value = default if value is None else value
    out = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not a network such as 10.0.0.0/8 or ::1/128") from None
    return out


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config dict; ``overrides`` (tests, CLI) win over the environment."""
    env = os.environ
    overrides = dict(overrides or {})
    env_name = env.get("PINGYI_ENV", "development")
    if env_name not in ENVIRONMENTS:  # "prod" must not quietly run as development with the public key
        raise ConfigError(f"PINGYI_ENV={env_name!r}: expected one of {', '.join(ENVIRONMENTS)}")
    production = env_name == "production"
    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("PINGYI_ENV=production needs SECRET_KEY to be set")
        secret = "dev-only-not-secret"  # nosec B105 # development only; production refuses to start without one
    if production and len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"PINGYI_ENV=production needs a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes "
                          "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    db_url = overrides.pop("DATABASE_URL", None) or env.get("DATABASE_URL") or _default_sqlite(instance_path)
    cfg = {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": secret,
        # Older secrets still accepted (sessions; ballots sealed in the box): when rotating
        # SECRET_KEY, keep the old one here until every open campaign's box has emptied.
        "SECRET_KEY_FALLBACKS": [k for k in env.get("SECRET_KEY_FALLBACKS", "").split(",") if k],
        "SQLALCHEMY_DATABASE_URI": normalize_db_url(db_url),
        # no pool_pre_ping: pingyi.connections pings only connections that sat idle
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RQ_PREFIX": env.get("PINGYI_RQ_PREFIX", ""),
        # Session cookies: HttpOnly always, Secure in production (behind TLS), SameSite=Lax.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "MAX_CONTENT_LENGTH": _int(env, "PINGYI_MAX_UPLOAD_BYTES", 32 * 1024 * 1024),
        "IMPORT_MAX_BYTES": _int(env, "PINGYI_IMPORT_MAX_BYTES", 10 * 1024 * 1024),
        # An import .xlsx unpacked (a 300 KB zip bomb unpacks to 300 MB) and the data rows of any
        # import, checked before anything parses the file (pingyi/org/sheets.py); files of more
        # rows than IMPORT_JOB_ROWS are imported by a worker job instead of the page's request.
        "IMPORT_MAX_UNCOMPRESSED_BYTES": _int(env, "PINGYI_IMPORT_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024, low=1),
        "IMPORT_MAX_ROWS": _int(env, "PINGYI_IMPORT_MAX_ROWS", 100_000, low=1),
        "IMPORT_JOB_ROWS": _int(env, "PINGYI_IMPORT_JOB_ROWS", 5000),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh_Hans_CN": "简体中文", "en": "English"},
        # Argon2id cost; tests lower it so hundreds of logins stay fast.
        "PASSWORD_HASH_PARAMS": {"time_cost": 3, "memory_cost": 65536, "parallelism": 2},
    }
    cfg["RATELIMIT_STORAGE_URI"] = env.get("PINGYI_RATELIMIT_STORAGE") or cfg["REDIS_URL"] or "memory://"
    if not cfg["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        # Limits never fail a request: a Redis that is down or slow (at most 0.5 s) hands the
        # counting to this process's memory until it answers again.
        cfg["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
        cfg["RATELIMIT_SWALLOW_ERRORS"] = True
        cfg["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    # No X-RateLimit-* headers: each costs a round trip to the limits' storage on every response
    # (ballots included); a 429 still says Retry-After (pingyi.web).
    cfg["RATELIMIT_HEADERS_ENABLED"] = False
    # Behind nginx (or any proxy) every request comes from the proxy's address: with this many
    # proxies in front that set X-Forwarded-For/-Proto, the app (rate limits, logs) takes the
    # client's address from them instead. 0 (the default) trusts no forwarded header.
    cfg["TRUSTED_PROXIES"] = _int(env, "PINGYI_TRUSTED_PROXIES", 0)
    # /healthz and /metrics are for operators: they answer clients in these networks only (the
    # address as ProxyFix found it), everyone else gets a 404 (pingyi.web.ops).
    cfg["METRICS_ALLOW"] = _networks(env, "PINGYI_METRICS_ALLOW", "127.0.0.1/32,::1/128")
    # "json": every log line of the app, gunicorn and the worker is one JSON object (time, level,
    # logger, message, request_id), redacted like the text lines (pingyi.logsafe).
    cfg["LOG_FORMAT"] = env.get("PINGYI_LOG_FORMAT") or "text"
    if cfg["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"PINGYI_LOG_FORMAT={cfg['LOG_FORMAT']!r}: expected one of {', '.join(LOG_FORMATS)}")
    # Per client address: every ballot page view (a meeting room may share one address), failed
    # link and code look-ups (guessing is hopeless), receipt checks.
    cfg["BALLOT_PAGE_LIMIT"] = _limit(env, "PINGYI_BALLOT_PAGE_LIMIT", "600 per minute")
    cfg["LINK_FAILURE_LIMIT"] = _limit(env, "PINGYI_LINK_FAILURE_LIMIT", "30 per minute; 300 per hour")
    cfg["RECEIPT_CHECK_LIMIT"] = _limit(env, "PINGYI_RECEIPT_CHECK_LIMIT", "30 per minute")
    # Entries left in the feedback box (信息收集箱) per address: enough for a family, not a flood.
    cfg["FEEDBACK_LIMIT"] = _limit(env, "PINGYI_FEEDBACK_LIMIT", "5 per minute; 30 per day")
    # Failed logins, per address and per account. The account's limit is short (a locked-out user
    # waits minutes, not hours) and does not apply on a browser that has logged in to it before.
    cfg["LOGIN_FAILURE_LIMIT_ADDRESS"] = _limit(env, "PINGYI_LOGIN_FAILURE_LIMIT_ADDRESS", "20 per 10 minutes; 100 per day")
    cfg["LOGIN_FAILURE_LIMIT_ACCOUNT"] = _limit(env, "PINGYI_LOGIN_FAILURE_LIMIT_ACCOUNT", "5 per 5 minutes")
    # Live tallies: ballots within this many seconds share one incremental tally job.
    # Small-cell suppression: a breakdown resting on fewer ballots than this reads "<k".
    cfg["MIN_CELL"] = _int(env, "PINGYI_MIN_CELL", 5, low=1)
    cfg["LIVE_TALLY_DELAY"] = float(env.get("PINGYI_LIVE_TALLY_DELAY", 3))
    cfg["PUBLIC_BASE_URL"] = env.get("PINGYI_PUBLIC_BASE_URL", "")  # for links in slips; default: the request's host
    # Worker jobs: a failed job runs again up to JOB_RETRY_MAX times, after these waits (seconds).
    cfg["JOB_RETRY_MAX"] = _int(env, "PINGYI_JOB_RETRY_MAX", 3)
    cfg["JOB_RETRY_INTERVALS"] = [int(s) for s in env.get("PINGYI_JOB_RETRY_INTERVALS", "10,60,300").split(",")]
    # The worker's maintenance runs this often (seconds): a dead scheduler's lock taken over,
    # dead workers' jobs retried, live tallies that Redis lost scheduled again. Its reaper runs
    # every JOB_REAPER_INTERVAL; a queued/running job row younger than JOB_REAPER_GRACE is left
    # alone (its RQ job may be about to be enqueued).
    cfg["WORKER_MAINTENANCE_INTERVAL"] = _int(env, "PINGYI_WORKER_MAINTENANCE_INTERVAL", 5, low=1)
    cfg["JOB_REAPER_INTERVAL"] = _int(env, "PINGYI_JOB_REAPER_INTERVAL", 60, low=1)
    cfg["JOB_REAPER_GRACE"] = _int(env, "PINGYI_JOB_REAPER_GRACE", 60)
    # Files jobs produce live in the database (any worker host writes them, any web host serves
    # them): each at most JOB_FILE_MAX_MB; a file not downloaded within JOB_FILE_KEEP_DAYS is
    # dropped by the worker's maintenance (generate it again; link lists: revoke and reissue).
    cfg["JOB_FILE_MAX_MB"] = _int(env, "PINGYI_JOB_FILE_MAX_MB", 64, low=1)
    cfg["JOB_FILE_KEEP_DAYS"] = _int(env, "PINGYI_JOB_FILE_KEEP_DAYS", 7, low=1)
    # A running job's heartbeat: every WORKER_JOB_MONITORING_INTERVAL seconds; a job whose worker
    # missed it by WORKER_HEARTBEAT_GRACE more is abandoned and retried (RQ's defaults, 30 and 60,
    # would leave a killed worker's live tally stuck for 90 s).
    cfg["WORKER_JOB_MONITORING_INTERVAL"] = _int(env, "PINGYI_WORKER_JOB_MONITORING_INTERVAL", 5, low=1)
    cfg["WORKER_HEARTBEAT_GRACE"] = _int(env, "PINGYI_WORKER_HEARTBEAT_GRACE", 10, low=1)
    # A streaming replica for the reads that opt in (results dashboards, the public page, report
    # files: pingyi.replica), used while it is at most REPLICA_MAX_LAG seconds behind (asked at most
    # every REPLICA_CHECK_INTERVAL seconds per process); unset, everything reads the primary.
    cfg["DATABASE_REPLICA_URL"] = env.get("DATABASE_REPLICA_URL") or None
    cfg["REPLICA_MAX_LAG"] = float(env.get("PINGYI_REPLICA_MAX_LAG", 10))
    cfg["REPLICA_CHECK_INTERVAL"] = float(env.get("PINGYI_REPLICA_CHECK_INTERVAL", 5))
    # 1: DATABASE_URL (and the replica's) is a pgbouncer in transaction pooling mode.
    cfg["DB_PGBOUNCER"] = _int(env, "PINGYI_DB_PGBOUNCER", 0) > 0
    cfg.update(overrides)
    cfg["SQLALCHEMY_DATABASE_URI"] = normalize_db_url(cfg["SQLALCHEMY_DATABASE_URI"])
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A connection per thread that serves requests (deploy/gunicorn.conf.py sets the size to
        # its threads), a few more for the live-tally thread and bursts.
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {**cfg["SQLALCHEMY_ENGINE_OPTIONS"],
                                            "pool_size": _int(env, "PINGYI_DB_POOL_SIZE", 5, low=1),
                                            "max_overflow": _int(env, "PINGYI_DB_MAX_OVERFLOW", 5)}
        if cfg["DB_PGBOUNCER"]:
            # pgbouncer in transaction mode hands each transaction whichever server connection
            # is free: psycopg's server-side prepared statements (made after 5 runs of a
            # statement on a connection) would be missing there, or clash with another
            # client's. Off only then: on a direct connection they save ~0.5 ms of planning a
            # ballot (docs/deploy.md).
            options = cfg["SQLALCHEMY_ENGINE_OPTIONS"]
            options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    if cfg["DATABASE_REPLICA_URL"]:
        if not cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            raise ConfigError("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL")
        # the primary's engine options (Flask-SQLAlchemy gives a bind none of them); a replica
        # that does not answer within seconds is passed over (pingyi.replica.usable)
        options = cfg["SQLALCHEMY_ENGINE_OPTIONS"]
        cfg["SQLALCHEMY_BINDS"] = {**cfg.get("SQLALCHEMY_BINDS", {}), "replica": {
            **options, "url": normalize_db_url(cfg["DATABASE_REPLICA_URL"]),
            "connect_args": {**options.get("connect_args", {}), "connect_timeout": 3}}}
    return cfg


LOCAL_BASE_URL = "http://127.0.0.1:5000"  # `pingyi run`'s address: links printed with no request to go by


def base_url_for_cli(config, given: str | None = None) -> str:
    """Where printed links point when no request tells: ``given`` (a --base-url option), then
    PINGYI_PUBLIC_BASE_URL, then the local development server."""
    return (given or config.get("PUBLIC_BASE_URL") or LOCAL_BASE_URL).rstrip("/")

