"""no audit row holds a token id, an answer, a comment or tally figures

Revision ID: 0007
Revises: 0006

Before this, the after-flush audit hook copied paper entries (token id, answers, comments) and
every tally's totals into ``audit_events``. The rows already written are brought to what
``pingyi.audit.POLICY`` writes now: ballot and tally tables' events go; a paper entry event
keeps its campaign (and, for a retyping, that its answers changed, never what to); a job event keeps kind,
parameters and state, and goes if nothing else changed (progress, result, error). The
policy is written out again here, not imported: a migration must not change when the app
code does. Plain statements, no batch mode (see 0006).
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_NEVER = ('ballots', 'answers', 'comments', 'ballot_box',
          'tally_runs', 'tally_units', 'tally_counts', 'tally_inbox')
# table: (fields shown, fields masked, context fields, ids kept)
_RULES = {
    'paper_entries': ((), ('payload',), ('campaign_id',), False),
    'ballot_tokens': (('campaign_id', 'category_id', 'unit_id', 'revoked_at'), (), (), False),
    'jobs': (('kind', 'params', 'state'), (), (), True),
}

_events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('action', sa.String),
                   sa.column('object_type', sa.String), sa.column('object_id', sa.Integer),
                   sa.column('detail', sa.JSON))


def _rewrite(table: str, action: str, object_id, detail: dict) -> tuple | None:
    """(object_id, detail) as the policy writes them now, or None: the event goes."""
    if 'changes' not in detail and 'ids' not in detail and object_id is None:
        return object_id, detail  # a bulk event (``record_bulk``): its detail was chosen by hand
    shown, masked, context, keep_ids = _RULES[table]
    old = detail.get('changes') or {}
    changes = {k: v for k, v in old.items() if k in shown}
    if action == 'update':
        changes.update({k: ['***', '***'] for k in old if k in masked})
    if action == 'update' and not changes:
        return None
    out = {k: (old[k][1] if k in old else detail[k]) for k in context if k in old or k in detail}
    if 'changes' in detail:
        out['changes'] = changes
    if keep_ids:
        out.update({k: detail[k] for k in ('ids', 'name') if k in detail})
    return (object_id if keep_ids else None), out


def upgrade():
    conn = op.get_bind()
    conn.execute(_events.delete().where(_events.c.object_type.in_(_NEVER)))
    rows = conn.execute(sa.select(_events.c.id, _events.c.object_type, _events.c.action, _events.c.object_id,
                                  _events.c.detail).where(_events.c.object_type.in_(tuple(_RULES)))).all()
    for id_, table, action, object_id, detail in rows:
        new = _rewrite(table, action, object_id, detail or {})
        if new is None:
            conn.execute(_events.delete().where(_events.c.id == id_))
        elif new != (object_id, detail):
            conn.execute(_events.update().where(_events.c.id == id_).values(object_id=new[0], detail=new[1]))


def downgrade():
    pass  # what was removed is gone by design
