"""The organization tree: create, move, delete units and people; subtree queries.

All functions work inside the current tenant scope (``pingyi.tenancy``); they never take a
tenant id, so they cannot reach another tenant's rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.orm import contains_eager

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import INTEGER_RANGE, UNIT_KINDS, Person, Unit
from pingyi.tenancy import require_tenant_id


def subtree_filter(root_path: str):
    """SQL condition: the unit with ``root_path`` and all its descendants."""
    return Unit.path.startswith(root_path, autoescape=True)


def people(within: str | None = None, search: str = "") -> Select:
    """People in tree order (unit path, then their order in the unit), with their units loaded;
    ``within`` a unit subtree (a unit admin's, a chosen unit's), ``search`` in name, position or
    unit name. The one listing for the pages and the API."""
    stmt = select(Person).join(Person.unit).options(contains_eager(Person.unit))
    if within:
        stmt = stmt.where(subtree_filter(within))
    if search:
        like = f"%{search}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.position.like(like), Unit.name.like(like)))
    return stmt.order_by(Unit.path, Person.sort_order, Person.id)


def _validate_unit(name: str, kind: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("单位名称不能为空"), "name")
    if len(name) > 200:
        raise DomainError(_("单位名称过长（最多 200 字）"), "name")
    if kind not in UNIT_KINDS:
        raise DomainError(_("未知的单位类型“%(kind)s”", kind=kind), "kind")
    return name, kind


SORT_ORDER_RANGE = INTEGER_RANGE  # the column is an INTEGER


def _validate_sort_order(value) -> int:
    """A whole number in the column's range, whatever the entry point sent: a string stored in
    SQLite's INTEGER column (it keeps one) made every page that sorts units answer 500."""
    low, high = SORT_ORDER_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(_("排序应为 %(low)d 到 %(high)d 之间的整数", low=low, high=high), "sort_order")
    return value


def _sibling_exists(parent_id: int | None, name: str, exclude_id: int | None = None) -> bool:
    q = select(Unit.id).where(Unit.name == name, Unit.tenant_id == require_tenant_id())
    q = q.where(Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id)
    if exclude_id is not None:
        q = q.where(Unit.id != exclude_id)
    return db.session.execute(q.limit(1)).first() is not None


def set_path(unit: Unit, parent: Unit | None) -> None:
    """Fill ``path``/``depth`` once ``unit.id`` exists (after a flush)."""
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    unit.depth = (parent.depth + 1) if parent else 0


def create_unit(name: str, parent: Unit | None, kind: str = "other", sort_order: int = 0) -> Unit:
    name, kind = _validate_unit(name, kind)
    sort_order = _validate_sort_order(sort_order)
    if _sibling_exists(parent.id if parent else None, name):
        raise DomainError(_("同一上级下已有名为“%(name)s”的单位", name=name), "name")
    unit = Unit(name=name, kind=kind, sort_order=sort_order, parent_id=parent.id if parent else None,
                tenant_id=require_tenant_id())
    db.session.add(unit)
    db.session.flush()
    set_path(unit, parent)
    db.session.flush()
    return unit


def update_unit(unit: Unit, *, name: str | None = None, kind: str | None = None,
                sort_order: int | None = None, parent: Unit | None | bool = False) -> Unit:
    """Edit a unit; ``parent=False`` means "leave where it is", ``None`` means "make it a root";
    ``sort_order=None`` leaves it as it is. Who may move which unit is the caller's check
    (``web.access.check_unit_write``): this function knows no roles."""
    new_name, new_kind = _validate_unit(name if name is not None else unit.name, kind or unit.kind)
    if sort_order is not None:
        sort_order = _validate_sort_order(sort_order)
    new_parent_id = unit.parent_id if parent is False else (parent.id if parent else None)
    if parent is not False and parent is not None and parent.path.startswith(unit.path):
        raise DomainError(_("不能把单位移到它自己或它的下级单位之下"), "parent")
    if (new_name, new_parent_id) != (unit.name, unit.parent_id) and _sibling_exists(new_parent_id, new_name, unit.id):
        raise DomainError(_("同一上级下已有名为“%(name)s”的单位", name=new_name), "name")
    unit.name, unit.kind = new_name, new_kind
    if sort_order is not None:
        unit.sort_order = sort_order
    if new_parent_id != unit.parent_id:
        _move(unit, parent or None)
    db.session.flush()
    return unit


def _move(unit: Unit, parent: Unit | None) -> None:
    old_path, old_depth = unit.path, unit.depth
    unit.parent_id = parent.id if parent else None
    set_path(unit, parent)
    shift = unit.depth - old_depth
    db.session.flush()
    db.session.execute(
        update(Unit)
        .where(subtree_filter(old_path), Unit.id != unit.id)
        .values(path=unit.path + func.substr(Unit.path, len(old_path) + 1), depth=Unit.depth + shift)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def delete_unit(unit: Unit) -> None:
    has_children = db.session.execute(select(Unit.id).where(Unit.parent_id == unit.id).limit(1)).first()
    if has_children:
        raise DomainError(_("“%(name)s”下还有下级单位，不能删除", name=unit.name))
    has_people = db.session.execute(select(Person.id).where(Person.unit_id == unit.id).limit(1)).first()
    if has_people:
        raise DomainError(_("“%(name)s”下还有人员，不能删除", name=unit.name))
    db.session.delete(unit)
    db.session.flush()


def _validate_person(name: str, position: str) -> tuple[str, str]:
    name = (name or "").strip()
    position = (position or "").strip() or "党员"
    if not name:
        raise DomainError(_("姓名不能为空"), "name")
    if len(name) > 100 or len(position) > 50:
        raise DomainError(_("姓名或职务过长"), "name")
    return name, position


def create_person(name: str, unit: Unit, position: str = "党员", is_party_member: bool = True,
                  sort_order: int = 0) -> Person:
    name, position = _validate_person(name, position)
    person = Person(name=name, unit_id=unit.id, position=position, is_party_member=bool(is_party_member),
                    sort_order=sort_order, tenant_id=require_tenant_id())
    db.session.add(person)
    db.session.flush()
    return person


def update_person(person: Person, *, name: str | None = None, unit: Unit | None = None,
                  position: str | None = None, is_party_member: bool | None = None) -> Person:
    new_name, new_position = _validate_person(name if name is not None else person.name,
                                              position if position is not None else person.position)
    person.name, person.position = new_name, new_position
    if unit is not None:
        person.unit_id = unit.id
    if is_party_member is not None:
        person.is_party_member = bool(is_party_member)
    db.session.flush()
    return person


def delete_person(person: Person) -> None:
    db.session.delete(person)
    db.session.flush()


@dataclass
class TreeNode:
    unit: Unit
    children: list[TreeNode] = field(default_factory=list)
    people: int = 0
    descendants: dict[str, int] = field(default_factory=dict)


def build_tree(root_path: str | None = None) -> list[TreeNode]:
    """The (sub)tree as nested nodes, siblings by ``sort_order`` then name, with people counts
    and per-kind descendant counts. One query for units, one for people counts."""
    q = select(Unit)
    if root_path:
        q = q.where(subtree_filter(root_path))
    units = db.session.execute(q).scalars().all()
    counts = dict(db.session.execute(select(Person.unit_id, func.count()).group_by(Person.unit_id)).all())
    nodes = {u.id: TreeNode(u, people=counts.get(u.id, 0)) for u in units}
    roots: list[TreeNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_id)
        (parent.children if parent else roots).append(node)
    key = lambda n: (n.unit.sort_order, n.unit.name)  # noqa: E731

    def finish(node: TreeNode) -> dict[str, int]:
        node.children.sort(key=key)
        total: dict[str, int] = defaultdict(int)
        for child in node.children:
            total[child.unit.kind] += 1
            for k, v in finish(child).items():
                total[k] += v
        node.descendants = dict(total)
        node.people += sum(c.people for c in node.children)
        return total

    roots.sort(key=key)
    for r in roots:
        finish(r)
    return roots


def kind_counts(root_path: str | None = None) -> dict[str, int]:
    q = select(Unit.kind, func.count())
    if root_path:
        q = q.where(subtree_filter(root_path))
    return dict(db.session.execute(q.group_by(Unit.kind)).all())


def people_counts(root_path: str | None = None) -> tuple[int, int]:
    """(people, party members) in the tenant or a subtree."""
    q = select(func.count(), func.sum(case((Person.is_party_member, 1), else_=0)))
    if root_path:
        q = q.join(Unit, Unit.id == Person.unit_id).where(subtree_filter(root_path))
    total, members = db.session.execute(q).one()
    return int(total or 0), int(members or 0)


def unit_label(unit: Unit, units_by_id: dict[int, Unit] | None = None) -> str:
    """Full name path ``平庄煤业公司党委/西露天矿党委/…``, as imports accept it."""
    ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    if units_by_id is None:
        units_by_id = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(ids))).scalars()}
    return "/".join(units_by_id[i].name for i in ids if i in units_by_id)
