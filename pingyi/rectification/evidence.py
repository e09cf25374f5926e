"""Evidence files of ledger items: a short allow-list of types, checked by name and by their
first bytes (a renamed executable is not a PDF), and a size limit; the bytes are stored in
the database as job files' are, so backups and tenants' deletion take them along."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import defer

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import RectificationFile, RectificationItem, utcnow

from .ledger import Actor, check_manage, record_history

# extension → (MIME type, the leading bytes its files start with)
TYPES = {
    "pdf": ("application/pdf", (b"%PDF",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("RECTIFICATION_FILE_MAX_BYTES", DEFAULT_MAX_BYTES))


def check_file(name: str, data: bytes) -> tuple[str, str]:
    """(clean name, MIME type) of an acceptable file, or a DomainError saying why not."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in TYPES:
        raise DomainError(_("只能上传 PDF、JPG、PNG、DOCX 或 XLSX 文件"), "file")
    if not data:
        raise DomainError(_("上传的文件是空的"), "file")
    limit = max_bytes()
    if len(data) > limit:
        mb = f"{limit / 1024 / 1024:g}"
        raise DomainError(_("文件不能超过 %(mb)s MB", mb=mb), "file")
    mime, magic = TYPES[ext]
    if not data.startswith(magic):
        raise DomainError(_("文件内容与扩展名“.%(ext)s”不符", ext=ext), "file")
    return name, mime


def add_file(item: RectificationItem, actor: Actor, name: str, data: bytes,
             now: datetime | None = None) -> RectificationFile:
    """Attach an evidence file (not to a verified item); one history row names it."""
    now = now or utcnow()
    check_manage(item, actor)
    if item.state == "verified":
        raise DomainError(_("已验收的整改事项不能再上传佐证材料"), "state")
    name, mime = check_file(name, data)
    f = RectificationFile(tenant_id=item.tenant_id, item_id=item.id, name=name, mime=mime, size=len(data),
                          data=data, uploaded_by=actor.user_id, created_at=now)
    db.session.add(f)
    record_history(item, actor, item.state, item.state, _("上传佐证材料：%(n)s", n=name), now)
    db.session.flush()
    return f


def files(item: RectificationItem) -> list[RectificationFile]:
    """The item's files without their bytes loaded (the list shows names and sizes)."""
    return list(db.session.execute(select(RectificationFile).options(defer(RectificationFile.data))
                                   .where(RectificationFile.item_id == item.id)
                                   .order_by(RectificationFile.id)).scalars())
