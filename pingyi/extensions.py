"""Flask extension singletons, bound to the app in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# session.info key: present inside ``pingyi.replica.replica_reads`` (its value: the replica's
# engine, or None when the reads stay on the primary).
REPLICA_READS = "pingyi.replica_reads"


class Session(_FlaskSession):
    """``db.session``. ``get`` answers from the identity map without a query, so the tenant
    criteria never see it: it asks ``pingyi.tenancy`` whether the row is visible (a row of
    another tenant loaded earlier in the same session reads as ``None``)."""

    def get(self, entity, ident, **kwargs):
        from pingyi.tenancy import visible

        obj = super().get(entity, ident, **kwargs)
        return obj if obj is None or visible(obj, self) else None

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        """Inside ``pingyi.replica.replica_reads`` reads go to the replica, when there is one
        that may serve them, and a write raises there."""
        if bind is None and REPLICA_READS in self.info:
            from pingyi.replica import route

            routed = route(self, clause)
            if routed is not None:
                return routed
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI (Redis in production: in-memory limits would
# multiply by the number of web processes).
limiter = Limiter(key_func=get_remote_address)
