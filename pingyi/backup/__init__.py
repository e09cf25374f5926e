"""Backups and restores of the whole database (``pingyi backup`` / ``pingyi restore``).

PostgreSQL: ``pg_dump -Fc`` (one file, compressed, restorable table by table), checked with
``pg_restore --list`` before it takes its name; restored by ``pg_restore`` in one transaction
into an empty database. SQLite: the online backup API (a consistent copy while the app runs),
restored by the same API into an empty file.

What a backup leaves out: the files jobs made (``job_file*`` tables). Link lists among them
carry live ballot links until downloaded, and a backup is kept longer and in more places than
the database; reports are made again from the tally, and an import job caught in flight is
submitted again. Everything else is kept — ballots, answers, the sealed box (sealed under
SECRET_KEY: keep the key, apart from the backups), tallies — and of links, codes and receipts
only their hashes, as in the database.

A backup file is written under ``<name>.part`` and renamed when complete, so a cut-off run
never leaves a file that looks whole.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump/pg_restore with argument lists, never a shell
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

from pingyi.config import normalize_db_url

JOB_FILES = "job_file*"  # pg_dump's pattern: job_files, and any table of their parts
PG_MAGIC, SQLITE_MAGIC = b"PGDMP", b"SQLite format 3\x00"
TIMEOUT = 6 * 3600


class BackupError(RuntimeError):
    """A backup or restore that cannot be done (the message says why, in Chinese)."""


def _url(url: str) -> URL:
    return make_url(normalize_db_url(url))


def _backend(u: URL) -> str:
    if u.get_backend_name() == "postgresql":
        return "postgresql"
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return "sqlite"
    raise BackupError(f"不支持的数据库地址：{u.render_as_string()}（应为 PostgreSQL 或 SQLite 文件）")


def _libpq(u: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore, and their environment: the password goes in
    PGPASSWORD, not on a command line every user of the host can read."""
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return u.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"找不到 {name}，请安装 PostgreSQL 客户端（apt-get install postgresql-client）")
    return path


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, timeout=TIMEOUT, check=False)  # nosec B603 # fixed tools, argument list
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} 失败：{done.stderr.decode(errors='replace').strip()[-2000:]}")


def backup(url: str, out: Path, job_files: bool = False) -> int:
    """Write a backup of the database at ``url`` to ``out``; returns its size in bytes.
    ``job_files``: keep the files jobs made too (link lists included: such a backup holds
    live ballot links until they are downloaded)."""
    u, out = _url(url), Path(out)
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    try:
        if _backend(u) == "postgresql":
            dsn, env = _libpq(u)
            exclude = [] if job_files else [f"--exclude-table-data={JOB_FILES}"]
            _run([_tool("pg_dump"), "--format=custom", *exclude, "--file", str(part), "--dbname", dsn], env)
            _run([_tool("pg_restore"), "--list", str(part)], env)  # a complete, readable archive
        else:
            _sqlite_copy(Path(u.database), part)
            if not job_files:
                _drop_job_files(part)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return out.stat().st_size


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"找不到数据库文件 {source}")
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)  # page by page, consistent while the app keeps writing
    finally:
        dst.close()
        src.close()


def _drop_job_files(path: Path) -> None:
    """Empty the job files' tables in a SQLite copy, and rebuild the file (VACUUM) so no page
    keeps their bytes."""
    conn = sqlite3.connect(str(path))
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'job_file*'")]
        for name in names:
            conn.execute(f'DELETE FROM "{name}"')  # nosec B608 # a table name read from sqlite_master
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def kind_of(path: Path) -> str:
    """``"postgresql"`` or ``"sqlite"``: what made the backup file (its first bytes say)."""
    with Path(path).open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(PG_MAGIC):
        return "postgresql"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    raise BackupError(f"{path} 不是 pingyi backup 生成的备份文件")


def _pg_tables(dsn: str) -> int:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        return conn.execute("SELECT COUNT(*) FROM information_schema.tables "
                            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')").fetchone()[0]


def _sqlite_tables(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        conn.close()


def restore(path: Path, into: str, force: bool = False) -> None:
    """Restore the backup ``path`` into the database at ``into``, which must be empty (no
    tables) unless ``force``: PostgreSQL then drops the backup's objects first, SQLite
    overwrites the file. The schema is the backup's: ``pingyi db upgrade`` brings it to this
    release."""
    path, u = Path(path), _url(into)
    made_by, target = kind_of(path), _backend(u)
    if made_by != target:
        raise BackupError(f"备份来自 {made_by}，不能恢复到 {target}")
    if target == "postgresql":
        dsn, env = _libpq(u)
        env_dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            tables = _pg_tables(env_dsn)
        except psycopg.Error as exc:
            raise BackupError(f"无法连接目标数据库：{exc}") from None
        if tables and not force:
            raise BackupError(f"目标数据库已有 {tables} 张表：请恢复到空数据库（或加 --force 覆盖备份中的对象）")
        clean = ["--clean", "--if-exists"] if tables else []
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              *clean, "--dbname", dsn, str(path)], env)
        return
    dest = Path(u.database)
    tables = _sqlite_tables(dest)
    if tables and not force:
        raise BackupError(f"目标数据库文件 {dest} 已有 {tables} 张表：请恢复到新文件（或加 --force 覆盖）")
    _sqlite_copy(path, dest)
