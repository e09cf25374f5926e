"""``pingyi bench ballots``: N ballots cast over real HTTP against the production stack.

Why: a meeting room sends its ballots all at once, and each one is the heaviest request the
app serves (a link look-up, ~47 fields checked, the link redeemed and the ballot sealed into
the box in one transaction, a live tally scheduled). Only the whole stack shows what that
costs: gunicorn as deployed (deploy/gunicorn.conf.py), PostgreSQL, Redis (rate limits, the
queue) and one ``pingyi worker`` for the live tallies, driven by wrk from outside.

Everything runs on loopback, each server on a free port, and is stopped afterwards: a scratch
database ``pingyi_bench_<random>`` on ``--pg-admin-url`` (or a private PostgreSQL when that
does not answer), dropped at the end; a Redis of its own. Untimed: the schema (``pingyi db
upgrade``), a tenant with one open campaign of seed 002's shape (per branch 13–14 members and
12–13 links: 1 unit × 5 items + 13–14 members × 3 items = 44–47 fields a ballot), N links and
a POST body per link (every rating item answered, random choices, fixed seed). Timed: wrk
POSTs each link exactly once (bench/wrk/ballots.lua); then ``GET /login`` for as long, the
baseline. Checked: every accepted ballot stored exactly once. Prints one JSON line, with the
memory each gunicorn worker and the RQ worker hold at the end.

``--hosts N`` (issue 18 item 8): N gunicorns as deployed, each on a loopback port of its own
with the same PINGYI_WORKERS, behind Debian's nginx running deploy/nginx/pingyi.conf itself
(bench/nginx.py, the code tests/deploy/test_nginx_two_hosts.py runs it with); wrk and the
baseline go through nginx. ``--nginx`` puts nginx in front of a single host too; more than one
host always means nginx (something must spread the requests).

The ballot pages' per-address limits are lifted (PINGYI_BALLOT_PAGE_LIMIT,
PINGYI_LINK_FAILURE_LIMIT): every request comes from 127.0.0.1 here, and a meeting room's
limit is not what is measured.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from itertools import cycle
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from . import nginx

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).resolve().parent / "wrk" / "ballots.lua"
UNLIMITED = "1000000 per minute"
WRK_TIMEOUT_S = 30  # a response slower than this counts as a wrk timeout error
RUN_CAP_S = 3600  # wrk's -d for the ballot run: it is interrupted as soon as every link is answered
TALLY_WAIT_S = 60
START_TIMEOUT_S = 60


class BenchError(RuntimeError):
    """The bench could not run (a server did not start, wrk failed); the message says why."""


@dataclass
class Options:
    count: int = 20_000
    connections: int = 64
    wrk_threads: int = 2
    workers: int | None = None
    threads: int | None = None
    worker_class: str | None = None
    pg_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    seed: int = 2024
    hosts: int = 1
    nginx: bool = False

    @property
    def via(self) -> str:
        """"nginx" when nginx stands in front (asked for, or more than one host), else "direct"."""
        return "nginx" if self.nginx or self.hosts > 1 else "direct"


# ---- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _spawn(stack: ExitStack, argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """A server in a process group of its own, output to ``log``, stopped when ``stack`` closes."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=ROOT, start_new_session=True)
    stack.callback(_stop, proc)
    return proc


def _wait_for(what: str, ready, proc: subprocess.Popen | None, log: Path, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except Exception:  # not up yet
            pass
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what} exited with status {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not answer within {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.1)


def _run(argv: list[str], what: str, **kwargs) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, **kwargs)
    if done.returncode:
        raise BenchError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


# ---- servers --------------------------------------------------------------------------------------

def _pg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _answers(url: str) -> bool:
    try:
        psycopg.connect(_pg_url(url), connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def _admin_sql(url: str, sql: str) -> None:
    with psycopg.connect(_pg_url(url), autocommit=True) as conn:
        conn.execute(sql)


def _pg_bin() -> Path:
    for d in [*sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True), Path("/usr/local/bin")]:
        if (d / "initdb").exists():
            return d
    raise BenchError("PostgreSQL does not answer and initdb was not found (apt-get install postgresql)")


def private_postgres(stack: ExitStack, tmp: Path) -> str:
    """A PostgreSQL of our own in ``tmp`` (initdb refuses root: as the ``postgres`` user then);
    returns its admin URL; stopped when ``stack`` closes."""
    bin_dir, data, port = _pg_bin(), tmp / "pg", free_port()
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        tmp.chmod(0o755)
        os.chown(data, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    _run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], "initdb")
    ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
    _run([*ctl, "-l", str(data / "server.log"), "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
          "start"], "pg_ctl start")
    stack.callback(subprocess.run, [*ctl, "-m", "fast", "stop"], capture_output=True)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def scratch_database(stack: ExitStack, admin_url: str, tmp: Path) -> str:
    """A fresh database ``pingyi_bench_<random>`` (dropped when ``stack`` closes); its URL."""
    if not _answers(admin_url):
        admin_url = private_postgres(stack, tmp)
    name = f"pingyi_bench_{secrets.token_hex(4)}"
    _admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    stack.callback(_admin_sql, admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return urlunsplit(urlsplit(_pg_url(admin_url))._replace(path="/" + name))


def redis_server(stack: ExitStack, tmp: Path) -> str:
    from redis import Redis

    port, log = free_port(), tmp / "redis.log"
    proc = _spawn(stack, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(tmp)], log)
    url = f"redis://127.0.0.1:{port}/0"
    _wait_for("redis-server", lambda: Redis.from_url(url, socket_timeout=1).ping(), proc, log)
    return url


def gunicorn_settings(env: dict) -> dict:
    """workers, threads and worker_class as deploy/gunicorn.conf.py decides them in ``env``."""
    code = ("import json, runpy, sys; g = runpy.run_path(sys.argv[1]); "
            "print(json.dumps({k: g.get(k) for k in ('workers', 'threads', 'worker_class')}))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "deploy" / "gunicorn.conf.py")], env=env,
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    return {"workers": got["workers"] or 1, "threads": got["threads"] or 1, "worker_class": got["worker_class"] or "sync"}


@dataclass
class Servers:
    """The servers of a run: ``base`` is where wrk sends its requests (nginx, or the one host)."""
    base: str
    web: list[subprocess.Popen]  # one gunicorn master per host
    ports: list[int]
    web_logs: list[Path]
    worker: subprocess.Popen
    worker_log: Path
    nginx_dir: Path | None = None


def app_servers(stack: ExitStack, env: dict, tmp: Path, redis_url: str, opts: Options) -> Servers:
    """``opts.hosts`` gunicorns as deployed (each on a port of its own, the same settings), one
    ``pingyi worker``, and nginx in front when ``opts.via`` says so."""
    from redis import Redis

    ports = [free_port() for _ in range(opts.hosts)]
    logs = [tmp / (f"gunicorn-{i + 1}.log" if opts.hosts > 1 else "gunicorn.log") for i in range(opts.hosts)]
    web = [_spawn(stack, [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                          "wsgi:app"], log, {**env, "PINGYI_BIND": f"127.0.0.1:{port}"})
           for port, log in zip(ports, logs, strict=True)]
    worker_log = tmp / "worker.log"
    worker = _spawn(stack, [sys.executable, "-m", "pingyi.cli", "worker"], worker_log, env)
    for i, (proc, port, log) in enumerate(zip(web, ports, logs, strict=True)):
        url = f"http://127.0.0.1:{port}/login"
        _wait_for(f"gunicorn {i + 1}", lambda url=url: urllib.request.urlopen(url, timeout=5).status == 200,  # nosec B310 # our own loopback server
                  proc, log)
    _wait_for("pingyi worker", lambda: Redis.from_url(redis_url).scard("rq:workers") > 0, worker, worker_log)
    out = Servers(f"http://127.0.0.1:{ports[0]}", web, ports, logs, worker, worker_log)
    if opts.via == "nginx":
        out.nginx_dir = tmp / "nginx"
        try:  # room for every wrk connection and its upstream connection
            port = stack.enter_context(nginx.serve(ports, out.nginx_dir,
                                                   worker_connections=max(256, 2 * opts.connections + 64)))
        except RuntimeError as exc:
            raise BenchError(str(exc)) from exc
        out.base = f"http://127.0.0.1:{port}"
    return out


# ---- memory ---------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc/<pid>/stat: no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # the name in () may hold spaces
            found.append(int(entry.name))
    return sorted(found)


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in kB from /proc/<pid>/smaps_rollup. PSS shares each page among
    the processes that map it (the interpreter a forked worker shares with its master), so the
    PSS of all processes adds up to the memory they take together; RSS counts a shared page in
    each of them."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            fields[name] = int(rest.split()[0])
    return fields["Rss"], fields["Pss"]


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def memory(masters: list[int], worker: int) -> dict:
    """RSS and PSS in MB of every gunicorn worker process (``per_worker``, host by host), of
    the masters, and their sum (the whole web tier); of the RQ worker (``main``), the processes
    it runs at that moment (its scheduler, a work-horse) and their sum."""
    def read(pids: list[int]) -> list[tuple[int, int]]:
        found = []
        for pid in pids:
            try:
                found.append(memory_kb(pid))
            except (OSError, KeyError):  # a child ended meanwhile
                continue
        return found

    web = [(memory_kb(m), read(children(m))) for m in masters]
    rq_main, rq_children = memory_kb(worker), read(children(worker))
    out: dict = {}
    for i, kind in enumerate(("rss", "pss")):
        heads = [head[i] for head, _ws in web]
        workers = [w[i] for _head, ws in web for w in ws]
        rq = [rq_main[i], *(c[i] for c in rq_children)]
        out[f"web_{kind}_mb"] = {"sum": _mb(sum(heads) + sum(workers)), "per_worker": [_mb(k) for k in workers],
                                 "masters": [_mb(k) for k in heads]}
        out[f"worker_{kind}_mb"] = {"sum": _mb(sum(rq)), "main": _mb(rq[0]), "children": [_mb(k) for k in rq[1:]]}
    return out


# ---- the campaign ---------------------------------------------------------------------------------

@dataclass
class Prepared:
    tenant_id: int
    campaign_id: int
    requests: list[tuple[str, str]]  # (path, urlencoded body), one per link
    branches: int
    fields: int  # answers in all bodies


def branch_shape(count: int) -> list[tuple[int, int]]:
    """(members, links) per branch in seed 002's pattern until ``count`` links."""
    from .tally import seed_pattern

    out, left = [], count
    for members, links in cycle(seed_pattern()):
        if left <= 0:
            return out
        out.append((members, min(links, left)))
        left -= links
    return out


def prepare(count: int, seed: int = 2024) -> Prepared:
    """A scratch tenant with one open campaign of seed 002's shape and ``count`` fresh links;
    a POST body per link. Call inside an app context on the scratch database."""
    from sqlalchemy import select, text
    from werkzeug.datastructures import MultiDict

    from pingyi.bulk import insert_tuples, reserve_ids
    from pingyi.campaigns import lifecycle as cp
    from pingyi.campaigns import questionnaire as q
    from pingyi.extensions import db
    from pingyi.models import Person, Subject, Unit, utcnow
    from pingyi.org import accounts
    from pingyi.tenancy import tenant_context
    from pingyi.voting import ballots, tokens

    from .tally import PER_COMMITTEE, _items

    rng, shape = random.Random(seed), branch_shape(count)
    tenant = accounts.create_tenant(f"bench-{secrets.token_hex(3)}", "基准测试")
    db.session.commit()
    with tenant_context(tenant.id):
        tid, now = tenant.id, utcnow()
        n_comm = -(-len(shape) // PER_COMMITTEE)
        ids = reserve_ids(Unit.__table__, 1 + n_comm + len(shape))
        root, comms, brs = ids[0], ids[1:1 + n_comm], ids[1 + n_comm:]
        parent = [comms[i // PER_COMMITTEE] for i in range(len(brs))]
        insert_tuples(Unit.__table__, ["id", "tenant_id", "parent_id", "name", "kind", "sort_order", "path", "depth",
                                       "created_at"], [
            (root, tid, None, "基准公司党委", "committee", 0, f"/{root}/", 0, now),
            *((c, tid, root, f"第{i + 1}基层党委", "committee", i, f"/{root}/{c}/", 1, now) for i, c in enumerate(comms)),
            *((b, tid, parent[i], f"第{i + 1}党支部", "branch", i, f"/{root}/{parent[i]}/{b}/", 2, now)
              for i, b in enumerate(brs))])
        people = iter(reserve_ids(Person.__table__, sum(m for m, _n in shape)))
        members = {b: [next(people) for _ in range(m)] for b, (m, _n) in zip(brs, shape, strict=True)}
        insert_tuples(Person.__table__, ["id", "tenant_id", "unit_id", "name", "position", "is_party_member",
                                         "sort_order", "created_at"],
                      [(p, tid, b, f"党员{p}", "党员", True, j, now) for b, ps in members.items() for j, p in enumerate(ps)])
        c = cp.create_campaign("基准评议", now - timedelta(hours=1), now + timedelta(days=30))
        root_unit = db.session.get(Unit, root)
        forms = q.copy_template("seed002-org"), q.copy_template("seed002-member")
        cp.add_subjects_bulk(c, "unit", root_unit, forms[0], ["branch"])
        cp.add_subjects_bulk(c, "person", root_unit, forms[1], ["branch"])
        (category,) = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"}])
        units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(brs))).scalars()}
        by_size = defaultdict(list)
        for b, (_m, n) in zip(brs, shape, strict=True):
            by_size[n].append(units[b])
        links = [link for n, us in sorted(by_size.items()) for link in tokens.issue_many(c, category, us, n)]
        cp.transition(c, "open")
        db.session.commit()

        # (field, choice ids) of every rating item a link of each branch answers
        items = {f.id: [(i, s + o) for i, s, o in _items(f.id)] for f in forms}
        fields = defaultdict(list)
        for sid, unit_id, form_id in db.session.execute(select(Subject.id, Subject.unit_id, Subject.form_id)
                                                        .where(Subject.campaign_id == c.id)):
            fields[unit_id] += [(ballots.field_name("a", sid, item), choices) for item, choices in items[form_id]]
        links.sort(key=lambda link: (link.unit_id, link.serial))
        bodies = [urlencode([(name, rng.choice(choices)) for name, choices in fields[link.unit_id]])
                  for link in links]
        # the app's own reading of the first body: the shape is right when nothing is missing
        state = ballots.resolve(links[0].secret)
        subjects = ballots.subjects_for(state.token, state.category)
        sub = ballots.parse(MultiDict(parse_qsl(bodies[0])), subjects, ballots.forms_of(subjects))
        if state.status != "ok" or sub.errors or len(sub.answers) != len(fields[links[0].unit_id]):
            raise BenchError(f"prepared ballot refused: {state.status} {sub.errors}")
        prepared = Prepared(tid, c.id, [(f"/b/{link.secret}", body) for link, body in zip(links, bodies, strict=True)],
                            len(brs), sum(len(fields[link.unit_id]) for link in links))
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return prepared


def stored(campaign_id: int) -> dict:
    """Links used, ballots boxed and moved out of the box, and the live tally's count."""
    from sqlalchemy import text

    from pingyi.extensions import db

    sql = """SELECT (SELECT count(*) FROM ballot_tokens WHERE campaign_id = :c AND used),
                    (SELECT count(*) FROM ballot_box WHERE campaign_id = :c),
                    (SELECT count(*) FROM ballots WHERE campaign_id = :c),
                    (SELECT coalesce(max(ballots), 0) FROM tally_runs WHERE campaign_id = :c)"""
    with db.engine.connect() as conn:
        used, boxed, moved, tallied = conn.execute(text(sql), {"c": campaign_id}).one()
    return {"used": used, "boxed": boxed, "moved": moved, "tallied": tallied}


# ---- wrk ------------------------------------------------------------------------------------------

@dataclass
class WrkRun:
    out: dict  # what bench/wrk/ballots.lua's done() wrote
    wall_s: float
    cpu_s: float  # wrk's user + system time

    @property
    def seconds(self) -> float:
        return self.out["duration_us"] / 1e6


def wrk(url: str, opts: Options, tmp: Path, name: str, seconds: int, slices: Path | None = None) -> WrkRun:
    """One wrk run; with ``slices`` (a directory of slice_<i> files) the prepared ballots, each
    once, and wrk interrupted as soon as every thread has its answers (or, should some never
    come, WRK_TIMEOUT_S after the last was sent)."""
    out, log = tmp / f"{name}.json", tmp / f"{name}.log"
    env = {**os.environ, "PINGYI_BENCH_OUT": str(out)}
    if slices is not None:
        env["PINGYI_BENCH_DIR"] = str(slices)
    argv = ["wrk", "-c", str(opts.connections), "-t", str(opts.wrk_threads), "-d", f"{seconds}s",
            "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(LUA), url]
    park = socket.create_server(("127.0.0.1", 0), backlog=4096)  # see bench/wrk/ballots.lua; never accepts
    env["PINGYI_BENCH_PARK"] = str(park.getsockname()[1])
    start = time.perf_counter()
    with log.open("wb") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        all_sent = interrupted = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if slices is not None:
                now = time.monotonic()
                marks = [(slices / f"sent_{i}").exists() + (slices / f"done_{i}").exists()
                         for i in range(opts.wrk_threads)]
                if all_sent is None and min(marks) >= 1:
                    all_sent = now
                finished = min(marks) == 2 or (all_sent is not None and now - all_sent > WRK_TIMEOUT_S + 5)
                # wrk ignores SIGINT until its threads have started: repeat it
                if finished and (interrupted is None or now - interrupted > 0.5):
                    os.kill(proc.pid, signal.SIGINT)
                    interrupted = now
            time.sleep(0.01)
    except BaseException:
        _stop(proc)
        raise
    finally:
        park.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode or not out.exists():
        raise BenchError(f"wrk failed ({proc.returncode}):\n{_tail(log)}")
    return WrkRun(json.loads(out.read_text()), wall, usage.ru_utime + usage.ru_stime)


def write_slices(requests: list[tuple[str, str]], threads: int, directory: Path) -> None:
    """Thread i of wrk sends the i-th contiguous slice of ``requests``."""
    directory.mkdir()
    for i in range(threads):
        part = requests[len(requests) * i // threads:len(requests) * (i + 1) // threads]
        (directory / f"slice_{i}").write_text("".join(f"{path} {body}\n" for path, body in part))


# ---- the run --------------------------------------------------------------------------------------

ERROR_MARKS = ("Traceback", "[ERROR]", "[CRITICAL]", " ERROR ", " CRITICAL ",
               "[error]", "[crit]", "[alert]", "[emerg]")  # gunicorn's, RQ's, the app's and nginx's formats


def log_errors(*logs: Path) -> list[str]:
    """The lines of servers' logs that report an error."""
    lines = []
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        lines += [line for line in text.splitlines() if any(mark in line for mark in ERROR_MARKS)]
    return lines


def ballots_per_host(access_log: Path, ports: list[int]) -> list[int]:
    """Ballot POSTs each host answered, from nginx's access log (``upstream``: the host's
    address, or the hosts tried in turn: the last one answered)."""
    served = dict.fromkeys(ports, 0)
    for line in access_log.read_text(errors="replace").splitlines():
        entry = json.loads(line)
        if entry["method"] == "POST" and entry["uri"] == "/b/<token>" and entry["upstream"]:
            port = int(entry["upstream"].split(", ")[-1].rsplit(":", 1)[1])
            served[port] = served.get(port, 0) + 1
    return [served[p] for p in ports]


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def run(opts: Options) -> dict:
    """Start the stack, prepare, drive, check; everything is stopped and dropped afterwards."""
    from pingyi import create_app

    opts.wrk_threads = max(1, min(opts.wrk_threads, opts.count))
    opts.connections = max(opts.connections, opts.wrk_threads)
    started, load = time.perf_counter(), os.getloadavg()[0]
    previous = signal.signal(signal.SIGTERM, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="pingyi-bench-"))
    try:
        with ExitStack() as stack:
            try:
                return _run_stack(stack, opts, tmp, create_app, started) | {"load_1m_before": round(load, 2)}
            except Exception:
                for log in sorted([*tmp.glob("*.log"), *tmp.glob("nginx/*error.log")]):
                    print(f"--- {log.name} (last lines)\n{_tail(log)}", file=sys.stderr)
                raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)


def _run_stack(stack: ExitStack, opts: Options, tmp: Path, create_app, started: float) -> dict:
    secret = secrets.token_urlsafe(48)
    db_url = scratch_database(stack, opts.pg_admin_url, tmp)
    env = {k: v for k, v in os.environ.items() if k != "PINGYI_RATELIMIT_STORAGE"}  # the limits use our Redis
    env.update(PINGYI_ENV="production", SECRET_KEY=secret, DATABASE_URL=db_url, PINGYI_BALLOT_PAGE_LIMIT=UNLIMITED,
               PINGYI_LINK_FAILURE_LIMIT=UNLIMITED,
               PINGYI_ACCESS_LOG="")  # off, where deploy/gunicorn.conf.py reads it
    if opts.via == "nginx":  # as deploy/nginx/pingyi.conf says: the limits see each client's address
        env["PINGYI_TRUSTED_PROXIES"] = "1"
    for name, value in (("PINGYI_WORKERS", opts.workers), ("PINGYI_THREADS", opts.threads),
                        ("PINGYI_WORKER_CLASS", opts.worker_class)):
        if value is not None:
            env[name] = str(value)
    _run([sys.executable, "-m", "pingyi.cli", "db", "upgrade"], "pingyi db upgrade", env={**env, "REDIS_URL": ""})

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": secret, "REDIS_URL": None,
                      "RATELIMIT_STORAGE_URI": "memory://"})
    stack.enter_context(app.app_context())
    t = time.perf_counter()
    prep = prepare(opts.count, opts.seed)
    prepare_s = time.perf_counter() - t
    write_slices(prep.requests, opts.wrk_threads, tmp / "slices")

    env["REDIS_URL"] = redis_server(stack, tmp)
    settings = gunicorn_settings(env)
    servers = app_servers(stack, env, tmp, env["REDIS_URL"], opts)
    base = servers.base
    used = servers.web_logs[0].read_text(errors="replace").split("Using worker: ", 1)
    if len(used) == 2:
        settings["worker_class"] = used[1].split()[0]

    wrk(base + "/login", opts, tmp, "warmup", 2)
    ballots = wrk(base + "/", opts, tmp, "ballots", RUN_CAP_S, tmp / "slices")
    ended, s = time.monotonic(), stored(prep.campaign_id)
    behind = s["boxed"] + s["moved"] - s["tallied"]  # ballots the live tally had not counted yet
    k = app.config["MIN_CELL"]
    caught_up = None
    while time.monotonic() - ended < TALLY_WAIT_S:
        if s["boxed"] < k and s["tallied"] == s["moved"]:
            caught_up = round(time.monotonic() - ended, 1)
            break
        time.sleep(0.2)
        s = stored(prep.campaign_id)
    static = wrk(base + "/login", opts, tmp, "static", max(1, math.ceil(ballots.seconds)))
    s = stored(prep.campaign_id)
    mem = memory([p.pid for p in servers.web], servers.worker.pid)
    errors = {"gunicorn": log_errors(*servers.web_logs), "worker": log_errors(servers.worker_log)}
    per_host = {}
    if servers.nginx_dir is not None:
        errors["nginx"] = log_errors(servers.nginx_dir / "error.log", servers.nginx_dir / "pingyi.error.log")
        per_host = {"ballots_per_host": ballots_per_host(servers.nginx_dir / "pingyi.access.log", servers.ports)}
    for name, lines in errors.items():
        if lines:
            print(f"{name} logged {len(lines)} error line(s), the first:\n  " + "\n  ".join(lines[:5]), file=sys.stderr)
    extra = {"live_tally_behind_at_end": behind, "prepare_s": round(prepare_s, 1),
             "wall_s": round(time.perf_counter() - started, 1),
             "log_errors": {name: len(lines) for name, lines in errors.items()}}
    return figures(opts, prep, ballots, static, s, caught_up, settings) | per_host | mem | extra


def figures(opts: Options, prep: Prepared, ballots: WrkRun, static: WrkRun, s: dict, caught_up: float | None,
            settings: dict) -> dict:
    out, status = ballots.out, {int(code): n for code, n in ballots.out["status"].items()}
    accepted = status.get(200, 0)
    unanswered = out["sent"] - out["received"]  # a read/write error lost the answer
    errors = (sum(n for code, n in status.items() if not 200 <= code < 300) + unanswered
              + out["errors"]["connect"] + out["errors"]["timeout"])
    accepted_per_s = accepted / ballots.seconds
    static_per_s = static.out["requests"] / static.seconds
    return {
        "count": opts.count, "accepted": accepted, "accepted_per_s": round(accepted_per_s, 1),
        "p50_ms": round(out["p50_us"] / 1000, 1), "p99_ms": round(out["p99_us"] / 1000, 1), "errors": errors,
        "lost": accepted - (s["boxed"] + s["moved"]), "static_per_s": round(static_per_s, 1),
        "static_p99_ms": round(static.out["p99_us"] / 1000, 1), "ratio": round(accepted_per_s / static_per_s, 3),
        "driver_cpu_share": round(ballots.cpu_s / (ballots.wall_s * (os.cpu_count() or 1)), 3),
        "hosts": opts.hosts, "via": opts.via, **settings, "db": "postgresql", "seconds": round(ballots.seconds, 2),
        "used_links": s["used"], "stored_ballots": s["boxed"] + s["moved"], "status": status,
        "unsent": opts.count - out["sent"], "unanswered": unanswered,
        "socket_errors": {k: v for k, v in out["errors"].items() if k != "status"},
        "static_requests": static.out["requests"], "static_errors": sum(
            n for code, n in static.out["status"].items() if not 200 <= int(code) < 300),
        "live_tally_caught_up_s": caught_up, "live_tally_ballots": s["tallied"], "boxed": s["boxed"],
        "connections": opts.connections, "wrk_threads": opts.wrk_threads, "branches": prep.branches,
        "fields_per_ballot": round(prep.fields / len(prep.requests), 1),
    }


def failures(result: dict) -> list[str]:
    """Why the run must fail: a ballot accepted but not stored (or stored twice), or an
    accepted count that does not match the links used."""
    problems = []
    if result["lost"]:
        problems.append(f"lost = {result['lost']}: {result['accepted']} ballots accepted (200) but "
                        f"{result['stored_ballots']} stored")
    if result["accepted"] != result["used_links"]:
        problems.append(f"{result['accepted']} ballots accepted (200) but {result['used_links']} links used")
    return problems
