"""``pingyi doctor``: is this host set up for production, and if not, what to do — as data.

Each check is a ``Check(name, status, detail, fix)``: ``ok``, ``warn`` (works, but not as a
production host should), ``FAIL`` (a required part is missing or wrong: ``pingyi doctor`` exits
1) or ``skip`` (could not be asked because a part it depends on failed, which is the FAIL to
fix). The checks read the environment the way the app does (``create_app``), ask the database,
Redis and the replica with short time-outs, and change nothing. No detail holds a password or
the secret key: the hosts, ports and database names of the URLs are shown, never their users or
passwords, and every text is scrubbed of the configured secrets before it is returned.

The up/down answers are ``pingyi.monitoring.health``'s (the same ones ``/healthz`` gives) and the
replica's lag is ``pingyi.replica``'s; what this module adds is what a production host needs
beyond "up": PostgreSQL rather than the embedded SQLite, the schema at the migrations' head,
a worker on every queue, the settings a host behind nginx wants.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import subprocess  # nosec B404 # `pg_dump --version` with a fixed argument list, no shell
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, current_app
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url

from pingyi import replica
from pingyi.config import LOCAL_BASE_URL, MIN_SECRET_BYTES, ConfigError, base_url_for_cli
from pingyi.extensions import db
from pingyi.fonts import FontMissing, font_path
from pingyi.monitoring import health
from pingyi.queue import get_queue

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
CONNECT_TIMEOUT = 3  # seconds for each PostgreSQL connection the checks open
# deploy/pingyi.env.example's placeholder: 33 bytes, so the length rule alone lets it through
EXAMPLE_SECRET = "change-me-to-a-long-random-string"  # nosec B105 # the known placeholder, refused, not used
DEV_SECRET = "dev-only-not-secret"  # nosec B105 # pingyi.config's development default, refused here

LABELS = {
    "config": "配置", "environment": "运行环境", "database_url": "数据库地址",
    "secret_key": "密钥",  # nosec B105 # a label, not a secret
    "database": "数据库", "migrations": "数据库迁移", "pgbouncer": "pgbouncer", "db_role": "数据库角色",
    "backup_tool": "备份工具", "replica": "只读副本", "redis": "Redis", "redis_memory": "Redis 内存策略",
    "rate_limits": "限流计数", "workers": "后台任务进程", "scheduler": "任务调度器", "proxies": "反向代理",
    "base_url": "链接地址", "metrics_allow": "运维接口", "log_format": "日志格式", "fonts": "PDF 字体",
}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer; ``fix`` says what to do when ``status`` is not ok."""

    name: str
    status: str
    detail: str
    fix: str = ""


def diagnose(load_app: Callable[[], Flask]) -> list[Check]:
    """Every check, in the order an operator fixes them. ``load_app`` is ``pingyi.create_app``
    (passed in: the app factory sits above this package); a ``ConfigError`` is the first FAIL,
    after which only the checks that need no app run."""
    try:
        app = load_app()
    except (ConfigError, ValueError) as exc:  # ValueError: a number setting pingyi.config reads with float()
        checks = [Check("config", FAIL, str(exc), "改正这项设置（环境变量或 /etc/pingyi.env），再运行 pingyi doctor"),
                  fonts()]
        return scrubbed(checks, _secrets(os.environ))
    with app.app_context():
        _bound_connects()
        try:
            checks = [Check("config", OK, "已载入"), *settings(app.config), *database_checks(),
                      _guarded("replica", replica_check), *redis_checks(), *web_settings(app.config), fonts()]
        finally:
            with suppress(Exception):
                db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        return scrubbed(checks, _secrets(os.environ) | _secrets(app.config))


def failed(checks: list[Check]) -> bool:
    """Does a required check fail (``pingyi doctor`` exits 1)?"""
    return any(c.status == FAIL for c in checks)


def as_data(checks: list[Check]) -> dict:
    """``pingyi doctor --json``: ``ok`` (no FAIL), the counts by status, and the checks."""
    return {"ok": not failed(checks), "counts": dict(Counter(c.status for c in checks)),
            "checks": [asdict(c) for c in checks]}


def report(checks: list[Check]) -> str:
    """One line per check (status, what, detail, → what to do), then the tally."""
    lines = [f"{c.status:<4}  {LABELS.get(c.name, c.name)}：{c.detail}" + (f" → {c.fix}" if c.fix else "")
             for c in checks]
    n = Counter(c.status for c in checks)
    lines.append(f"共 {len(checks)} 项：{n[OK]} 项通过，{n[WARN]} 项警告，{n[FAIL]} 项失败"
                 + (f"，{n[SKIP]} 项未能检查" if n[SKIP] else "")
                 + ("。失败项须先处理。" if n[FAIL] else "。"))
    return "\n".join(lines)


# --- what is shown, and what never is ---------------------------------------------------------


def where(url: str | URL) -> str:
    """Host, port and database of a URL, never its user or password (a SQLite URL: its file;
    Redis: host, port and database number)."""
    if isinstance(url, str) and not url.startswith(("postgres", "sqlite")):
        u = urlparse(url)
        return f"{u.hostname}:{u.port or 6379}/{u.path.lstrip('/') or 0}" if u.hostname else u.path or u.scheme
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    host = u.host or "本机套接字"
    return f"{host}:{u.port}/{u.database or ''}" if u.port else f"{host}/{u.database or ''}"


def _secrets(source) -> set[str]:
    """The secret key, its fallbacks and the password of every URL in ``source`` (the
    environment or the app's config)."""
    found = {source.get("SECRET_KEY") or ""}
    fallbacks = source.get("SECRET_KEY_FALLBACKS") or ""
    found.update(fallbacks if isinstance(fallbacks, list) else fallbacks.split(","))
    for key in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "DATABASE_REPLICA_URL", "REDIS_URL",
                "PINGYI_RATELIMIT_STORAGE", "RATELIMIT_STORAGE_URI"):
        value = source.get(key)
        if value:
            with suppress(ValueError):
                found.add(urlparse(str(value)).password or "")
    return {s for s in found if len(s) >= 4}  # a shorter "secret" would blank out ordinary words


def scrubbed(checks: list[Check], secrets: set[str]) -> list[Check]:
    """The checks with every secret replaced by ``***`` (error messages are quoted in details)."""
    def clean(value: str) -> str:
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, "***")
        return value

    return [Check(c.name, c.status, clean(c.detail), clean(c.fix)) for c in checks]


def _reason(exc: BaseException) -> str:
    """The first line of a driver's error (it names hosts and ports, not passwords)."""
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}：{message[0][:300]}" if message else type(exc).__name__


def _guarded(name: str, check: Callable[..., Check], *args) -> Check:
    """``check(*args)``, or a FAIL naming the error it met (a role that may not read a catalog,
    a Redis that refuses a command): one check's surprise does not hide the others' answers."""
    try:
        return check(*args)
    except Exception as exc:
        return Check(name, FAIL, f"检查时出错（{_reason(exc)}）", "按错误信息处理后再运行 pingyi doctor")


def _bound_connects() -> None:
    """PostgreSQL connections the checks open give up after ``CONNECT_TIMEOUT`` seconds (libpq
    would wait for the kernel's TCP time-out on a host that drops packets)."""
    def bounded(_dialect, _record, _args, params) -> None:  # returning a value would be the connection
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)

    for engine in db.engines.values():
        if engine.dialect.name == "postgresql":
            event.listen(engine, "do_connect", bounded)


# --- settings ---------------------------------------------------------------------------------


def settings(config) -> list[Check]:
    """PINGYI_ENV, SECRET_KEY and DATABASE_URL as set (nothing is asked over the network)."""
    checks = []
    if config["ENV_NAME"] == "production":
        checks.append(Check("environment", OK, "PINGYI_ENV=production（Cookie 仅经 HTTPS 发送，拒绝演示数据）"))
    else:
        checks.append(Check("environment", FAIL, f"PINGYI_ENV={config['ENV_NAME']}：开发模式（Cookie 不带 Secure，"
                            "可载入演示数据，SECRET_KEY 可以不设）", "设置 PINGYI_ENV=production"))
    secret = config["SECRET_KEY"]
    size = len(secret.encode())
    new_key = "python -c 'import secrets; print(secrets.token_urlsafe(48))' 生成一个，各主机设为同一个值"
    if secret in (DEV_SECRET, EXAMPLE_SECRET):
        checks.append(Check("secret_key", FAIL, "SECRET_KEY 是公开的默认值或示例值", "用 " + new_key))
    elif size < MIN_SECRET_BYTES:
        checks.append(Check("secret_key", FAIL, f"SECRET_KEY 只有 {size} 字节（至少 {MIN_SECRET_BYTES}）",
                            "用 " + new_key))
    elif short := [k for k in config["SECRET_KEY_FALLBACKS"] if len(k.encode()) < MIN_SECRET_BYTES]:
        checks.append(Check("secret_key", WARN, f"SECRET_KEY {size} 字节；SECRET_KEY_FALLBACKS 中有 {len(short)} 个短于 "
                            f"{MIN_SECRET_BYTES} 字节的旧密钥", "所有进行中的评议结束后，从 SECRET_KEY_FALLBACKS 删去旧密钥"))
    else:
        checks.append(Check("secret_key", OK, f"{size} 字节"
                            + (f"，另有 {len(config['SECRET_KEY_FALLBACKS'])} 个旧密钥" if config["SECRET_KEY_FALLBACKS"]
                               else "")))
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        checks.append(Check("database_url", OK, f"PostgreSQL {where(url)}"))
    else:
        checks.append(Check("database_url", FAIL, f"DATABASE_URL 是 {url.get_backend_name()}（{where(url)}）："
                            "不设 DATABASE_URL 时的内置默认，只适合演示和单机试用",
                            "设置 DATABASE_URL=postgresql://用户@主机:5432/库名，再运行 pingyi db upgrade"))
    return checks


def web_settings(config) -> list[Check]:
    """What the web hosts behind nginx want: forwarded addresses, printed links, who sees
    /healthz and /metrics, log lines a collector can parse."""
    checks = []
    n = config["TRUSTED_PROXIES"]
    if n:
        checks.append(Check("proxies", OK, f"PINGYI_TRUSTED_PROXIES={n}：客户端地址取自前面 {n} 层代理的 X-Forwarded-For"))
    else:
        checks.append(Check("proxies", WARN, "PINGYI_TRUSTED_PROXIES=0：不采信 X-Forwarded-For；在 nginx 之后，"
                            "所有评议人都是 nginx 的地址（限流、日志）",
                            "在 nginx 之后设置 PINGYI_TRUSTED_PROXIES=1（前面再有一层代理则为 2）"))
    base = base_url_for_cli(config)
    parsed = urlparse(base)
    set_it = "设置 PINGYI_PUBLIC_BASE_URL=https://评议网站的域名"
    if not config.get("PUBLIC_BASE_URL"):
        checks.append(Check("base_url", WARN, f"PINGYI_PUBLIC_BASE_URL 未设置：命令行打印的链接（pingyi links issue）"
                            f"指向 {LOCAL_BASE_URL}", set_it))
    elif parsed.scheme not in ("http", "https") or not parsed.hostname:
        checks.append(Check("base_url", FAIL, f"PINGYI_PUBLIC_BASE_URL={base} 不是网址", set_it))
    elif parsed.scheme != "https":
        checks.append(Check("base_url", WARN, f"{base} 不是 https：测评码链接将以明文传送", set_it))
    else:
        checks.append(Check("base_url", OK, base))
    allowed = config["METRICS_ALLOW"]
    if any(ipaddress.ip_network(net).prefixlen == 0 for net in allowed):
        checks.append(Check("metrics_allow", WARN, "PINGYI_METRICS_ALLOW 含 0.0.0.0/0 或 ::/0：任何地址都能读 "
                            "/healthz 与 /metrics", "只列出监控主机所在的网段，如 10.0.0.0/8"))
    else:
        checks.append(Check("metrics_allow", OK, "/healthz、/metrics 只对 " + ("、".join(allowed) or "任何地址都不")
                            + " 开放"))
    if config["LOG_FORMAT"] == "json":
        checks.append(Check("log_format", OK, "JSON（每行一个对象，带 request_id）"))
    else:
        checks.append(Check("log_format", WARN, "文本日志：集中收集时难以解析", "设置 PINGYI_LOG_FORMAT=json"))
    return checks


def fonts() -> Check:
    """The Chinese font every PDF (QR slips, reports) and chart needs (``pingyi.fonts``)."""
    try:
        return Check("fonts", OK, font_path())
    except FontMissing:
        return Check("fonts", FAIL, "没有中文 TrueType 字体：PDF（测评码条、报告）和图表中的汉字会显示为空框",
                     "apt-get install fonts-wqy-microhei")


# --- the database -----------------------------------------------------------------------------


def database_checks() -> list[Check]:
    """The primary answers (``health.database``), its version, the schema at the migrations'
    head; on PostgreSQL also pgbouncer, the app's role and pg_dump for backups."""
    url = db.engine.url
    postgres = url.get_backend_name() == "postgresql"
    later = ["migrations", *(("pgbouncer", "db_role", "backup_tool") if postgres else ())]
    if not postgres and url.database and url.database != ":memory:" and not Path(url.database).exists():
        return [Check("database", FAIL, f"{where(url)} 不存在", "运行 pingyi db upgrade 建库"),
                *(Check(name, SKIP, "数据库不存在") for name in later)]
    answer = health.database()
    if answer["status"] != health.OK:
        try:
            with db.engine.connect() as conn:  # once more, for the driver's words (health gives the type only)
                conn.execute(text("SELECT 1"))
            reason = answer["error"]
        except Exception as exc:
            reason = _reason(exc)
        return [Check("database", FAIL, f"{where(url)} 未应答（{reason}）",
                      "确认 PostgreSQL 在运行、DATABASE_URL 的主机、端口、库名、用户与密码正确（psql 同一地址试连）"),
                *(Check(name, SKIP, "数据库未应答") for name in later)]
    with db.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version" if postgres else "SELECT sqlite_version()")).scalar()
    checks = [Check("database", OK, f"{where(url)} 应答（{answer['ms']} ms），"
                    + (f"PostgreSQL {version}" if postgres else f"SQLite {version}"))]
    checks.append(_guarded("migrations", migrations))
    if postgres:
        checks += [_guarded("pgbouncer", pgbouncer, url), _guarded("db_role", db_role),
                   _guarded("backup_tool", backup_tool, str(version))]
    return checks


def migrations() -> Check:
    """Is the schema at the head of this release's migrations (``pingyi db upgrade``)?"""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = set(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    quiet = logging.getLogger("alembic.runtime.migration")  # its "Context impl …" lines are not the answer
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        quiet.setLevel(level)
    head = "、".join(sorted(heads))
    if current == heads:
        return Check("migrations", OK, f"在最新版本 {head}")
    upgrade = "运行 pingyi db upgrade（先 pingyi backup 备份）"
    if not current:
        return Check("migrations", FAIL, f"数据库里还没有表（本版本在 {head}）", upgrade)
    if current - known:
        return Check("migrations", FAIL, f"数据库在 {'、'.join(sorted(current))}，不是本版本的迁移（本版本在 {head}）："
                     "数据库来自更新的版本", "部署与数据库同样新或更新的版本")
    return Check("migrations", FAIL, f"数据库在 {'、'.join(sorted(current))}，本版本在 {head}", upgrade)


def pgbouncer(url: URL) -> Check:
    """Does ``PINGYI_DB_PGBOUNCER`` match what answers? Through pgbouncer (or anything between)
    the server's own port differs from the URL's; pgbouncer's usual port is 6432."""
    with db.engine.connect() as conn:
        server_port = conn.execute(text("SELECT inet_server_port()")).scalar()
    socket = not url.host or url.host.startswith("/")
    port = url.port or 5432
    between = port == 6432 or (server_port is not None if socket else server_port != port)
    on = current_app.config["DB_PGBOUNCER"]
    seen = f"DATABASE_URL 端口 {port if not socket else '（套接字）'}，服务器端口 {server_port or '（套接字）'}"
    if between and not on:
        return Check("pgbouncer", WARN, f"{seen}：像是经过 pgbouncer，而 PINGYI_DB_PGBOUNCER 未开启（事务模式下会报"
                     "“prepared statement … does not exist”）", "若是事务模式的 pgbouncer，设置 PINGYI_DB_PGBOUNCER=1")
    if on and not between:
        return Check("pgbouncer", WARN, f"{seen}：像是直连 PostgreSQL，而 PINGYI_DB_PGBOUNCER=1 关掉了预备语句"
                     "（每张票多约 0.5 ms）", "直连时去掉 PINGYI_DB_PGBOUNCER")
    return Check("pgbouncer", OK, ("经过 pgbouncer，PINGYI_DB_PGBOUNCER=1" if on else "直连，未用 pgbouncer") + f"（{seen}）")


def db_role() -> Check:
    """The app's role should not be a superuser: a mistake in it then reaches every database."""
    with db.engine.connect() as conn:
        role, superuser = conn.execute(text(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
    if superuser:
        return Check("db_role", WARN, f"应用以超级用户 {role} 连接数据库",
                     "为应用建一个普通角色并让它拥有 pingyi 库（CREATE ROLE pingyi LOGIN PASSWORD …; "
                     "ALTER DATABASE pingyi OWNER TO pingyi），DATABASE_URL 改用它")
    return Check("db_role", OK, f"{role}（非超级用户）")


def backup_tool(server_version: str) -> Check:
    """``pingyi backup`` runs pg_dump, which must be at least the server's major version."""
    server_major = int(re.match(r"\d+", server_version).group())
    install = f"apt-get install postgresql-client-{server_major}"
    found = shutil.which("pg_dump")
    if found is None:
        return Check("backup_tool", WARN, "找不到 pg_dump：pingyi backup 无法备份", install)
    out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10).stdout  # nosec B603 # a fixed argument list, no shell
    mine = re.search(r"(\d+)(?:\.\d+)?", out)
    if mine is None or int(mine.group(1)) < server_major:
        return Check("backup_tool", WARN, f"{out.strip() or 'pg_dump'} 比服务器的 PostgreSQL {server_version} 旧："
                     "pingyi backup 会失败", install)
    return Check("backup_tool", OK, out.strip())


def replica_check() -> Check:
    """``DATABASE_REPLICA_URL``: answers, is a standby (in recovery), how far behind (the lag
    ``pingyi.replica`` judges by), and may its role see the WAL receiver."""
    config = current_app.config
    engine = replica.engine()
    if engine is None:
        return Check("replica", OK, "未配置 DATABASE_REPLICA_URL（所有读取走主库）")
    seen = where(engine.url)
    try:
        with engine.connect() as conn:
            standby, stats = conn.execute(text(
                "SELECT pg_is_in_recovery(), pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')")).one()
        lag = replica.lag_seconds(engine)
    except Exception as exc:
        return Check("replica", WARN, f"{seen} 未应答（{_reason(exc)}）：结果页、公示页和报表改走主库",
                     "确认备库在运行、DATABASE_REPLICA_URL 正确；或去掉它")
    if not standby:
        return Check("replica", FAIL, f"{seen} 不是热备库（pg_is_in_recovery() 为假）：可写的库会被当作主库的副本来读",
                     "DATABASE_REPLICA_URL 应指向主库的流复制备库（docs/deploy.md）；没有备库就去掉它")
    behind = "尚未重放任何事务" if lag == float("inf") else f"落后 {lag:.1f} 秒"
    if lag > config["REPLICA_MAX_LAG"]:
        return Check("replica", WARN, f"{seen} 热备库，{behind}（上限 PINGYI_REPLICA_MAX_LAG={config['REPLICA_MAX_LAG']:g}）："
                     "这些读取暂走主库", "查看备库的复制状态（pg_stat_wal_receiver）与主库的 pg_stat_replication")
    if not stats:
        return Check("replica", WARN, f"{seen} 热备库，{behind}；应用的角色看不到 WAL 接收进程：空闲时段会被当作落后",
                     "在主库上 GRANT pg_read_all_stats TO 应用的角色;")
    return Check("replica", OK, f"{seen} 热备库，{behind}")


# --- Redis and the workers --------------------------------------------------------------------


def redis_checks() -> list[Check]:
    """Redis answers, keeps its keys under memory pressure, counts the rate limits; a worker
    listens on every queue and a scheduler holds the locks (``health.redis_parts``)."""
    config = current_app.config
    later = ("redis_memory", "workers", "scheduler")
    limits = rate_limits(config)
    if not config.get("REDIS_URL"):
        return [Check("redis", FAIL, "REDIS_URL 未设置：任务在网页请求的进程里运行，限流各进程各数各的",
                      "设置 REDIS_URL=redis://主机:6379/0，并在任务主机上运行 pingyi worker"), limits,
                *(Check(name, SKIP, "未配置 Redis") for name in later)]
    seen = where(config["REDIS_URL"])
    parts = health.redis_parts()
    if parts["redis"]["status"] != health.OK:
        conn = health.redis_client(config["REDIS_URL"])
        try:
            conn.ping()  # once more, for the client's words (health gives the type only)
            reason = parts["redis"].get("error", "")
        except Exception as exc:
            reason = _reason(exc)
        return [Check("redis", FAIL, f"{seen} 未应答（{reason}）", "确认 redis-server 在运行、REDIS_URL 的主机、端口与密码正确"
                      "（redis-cli -u 同一地址 ping）"), limits,
                *(Check(name, SKIP, "Redis 未应答") for name in later)]
    conn = health.redis_client(config["REDIS_URL"])
    version = ""
    with suppress(Exception):
        version = " " + conn.info("server").get("redis_version", "")
    return [Check("redis", OK, f"{seen} 应答（{parts['redis']['ms']} ms），Redis{version}"), redis_memory(conn), limits,
            _guarded("workers", workers, conn, parts["queues"].get("depth", {})), scheduler(parts["scheduler"])]


def redis_memory(conn) -> Check:
    """An evicting Redis drops queued jobs and the scheduler's keys when memory runs short."""
    try:
        policy = conn.config_get("maxmemory-policy").get("maxmemory-policy", "")
    except Exception:
        return Check("redis_memory", SKIP, "CONFIG 命令不可用（托管的 Redis？）：请自行确认 maxmemory-policy 为 noeviction")
    if policy != "noeviction":
        return Check("redis_memory", WARN, f"maxmemory-policy={policy}：内存不足时 Redis 会丢掉排队的任务",
                     "redis.conf 中设 maxmemory-policy noeviction（或 redis-cli config set maxmemory-policy noeviction）")
    return Check("redis_memory", OK, "maxmemory-policy=noeviction")


def rate_limits(config) -> Check:
    """Rate limits counted in one place for all hosts (Redis), not in each process's memory."""
    storage = config.get("RATELIMIT_STORAGE_URI", "memory://")
    if storage.startswith("memory://"):
        return Check("rate_limits", WARN, "在各进程的内存中：每个进程、每台主机各自放行整份限额",
                     "设置 REDIS_URL（或 PINGYI_RATELIMIT_STORAGE=redis://…）")
    return Check("rate_limits", OK, "计数在 " + where(storage))


def workers(conn, depth: dict[str, int]) -> Check:
    """A live RQ worker on every queue: registered for it (RQ's per-queue worker set) with its
    record still alive (it expires ``worker_ttl`` seconds after the worker's last heartbeat)."""
    from rq import Worker
    from rq.suspension import is_suspended

    if is_suspended(conn):
        return Check("workers", FAIL, "RQ 已暂停（rq suspend）：任务无人执行", "rq resume --url REDIS_URL 的值")
    names = list(health.queue_names())
    keys = {name: sorted(Worker.all_keys(queue=get_queue(name, conn))) for name in names}
    pipe = conn.pipeline(transaction=False)
    for name in names:
        for key in keys[name]:
            pipe.exists(key)
    alive = iter(pipe.execute())
    counts = {name: sum(bool(next(alive)) for _ in keys[name]) for name in names}
    detail = "，".join(f"{name} {counts[name]} 个（排队 {depth.get(name, 0)}）" for name in names)
    idle = [name for name in names if not counts[name]]
    if idle:
        return Check("workers", FAIL, f"队列 {'、'.join(idle)} 没有任务进程：{detail}",
                     "在任务主机上运行 pingyi worker（systemctl enable --now pingyi-worker@1）")
    return Check("workers", OK, detail)


def scheduler(part: dict) -> Check:
    """The RQ scheduler's lock on every queue (retries, delayed jobs and live tallies move)."""
    if part["status"] == health.OK:
        return Check("scheduler", OK, "每个队列的调度锁都有人持有")
    missing = [q for q, held in part.get("queues", {}).items() if not held]
    return Check("scheduler", FAIL, f"队列 {'、'.join(missing)} 的调度锁无人持有：重试、延时任务和实时统计不会运行",
                 "运行 pingyi worker（它带调度器）；刚启动的进程约 10 秒内取得锁")
