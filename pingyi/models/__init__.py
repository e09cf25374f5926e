"""All ORM models; importing this module registers every table with the metadata."""

from .accounts import ROLES, ApiKey, Membership, Tenant, User
from .audit import AuditEvent
from .base import TenantMixin, utcnow
from .org import UNIT_KINDS, Person, Unit

__all__ = [
    "ROLES", "UNIT_KINDS", "ApiKey", "AuditEvent", "Membership", "Person", "Tenant", "TenantMixin",
    "Unit", "User", "utcnow",
]
