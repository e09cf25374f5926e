"""no audit row holds a token id, an answer, a comment or tally figures

Revision ID: 0007
Revises: 0006

Before this, the after-flush audit hook copied paper entries (token id, answers, comments) and
every tally's totals into ``audit_events``. The rows already written are removed here: paper
entry events keep only who entered a form for which campaign, tally tables' events go, and job
events keep only what ``pingyi.audit.POLICY`` lets a job event carry (kind, campaign, state).
The policy is written out again below, not imported: a migration must not change when the app
code does.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_NEVER = ('tally_runs', 'tally_units', 'tally_counts', 'tally_inbox')
_KEEP = {'paper_entries': ('campaign_id', 'entered_by'), 'jobs': ('kind', 'params', 'state')}
_PARAMS = ('campaign_id',)  # of a job's params, the only key kept (a tally job's only one)

_events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('object_type', sa.String),
                   sa.column('detail', sa.JSON))


def _strip(table: str, detail: dict) -> dict:
    """The detail an event of ``table`` may keep: allowed fields of its changes, no ids or names."""
    changes = detail.get('changes') if isinstance(detail, dict) else None
    kept = {}
    for key, change in (changes or {}).items():
        if key not in _KEEP[table]:
            continue
        if key == 'params':
            change = [{k: v for k, v in p.items() if k in _PARAMS} if isinstance(p, dict) else None
                      for p in change]
        kept[key] = change
    return {'changes': kept} if kept else {}


def upgrade():
    conn = op.get_bind()
    conn.execute(_events.delete().where(_events.c.object_type.in_(_NEVER)))
    rows = conn.execute(sa.select(_events.c.id, _events.c.object_type, _events.c.detail)
                        .where(_events.c.object_type.in_(tuple(_KEEP)))).all()
    for id_, table, detail in rows:
        stripped = _strip(table, detail or {})
        if stripped != detail:
            conn.execute(_events.update().where(_events.c.id == id_).values(detail=stripped))


def downgrade():
    pass  # what was removed is gone by design
