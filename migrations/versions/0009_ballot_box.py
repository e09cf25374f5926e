"""the sealed ballot box and the mixer; tokens keep only whether they were used, ballots no time

Ballots already stored were written in the transaction that redeemed their link, in voting
order, with the hour that ``ballot_tokens.used_at`` repeats. This revision drops both times and
rewrites every ballot, answer and comment in random order in one transaction (new transaction
id, new physical order); on PostgreSQL it then vacuums the old row versions away.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

REWRITTEN = ("ballots", "answers", "comments")


def _columns(table: str) -> str:
    return ", ".join(c["name"] for c in sa.inspect(op.get_bind()).get_columns(table))


def _rewrite_in_random_order(table: str) -> None:
    cols = _columns(table)
    op.execute(f"CREATE TEMPORARY TABLE mix_{table} AS SELECT {cols} FROM {table}")
    op.execute(f"DELETE FROM {table}")
    op.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM mix_{table} ORDER BY random()")
    op.execute(f"DROP TABLE mix_{table}")


# Plain ALTER TABLE, not batch mode: on SQLite a batch operation copies the table, which would
# drop the triggers of migration 0005 (ballots → tally_inbox). SQLite ≥ 3.35 drops columns.
def upgrade():
    op.create_table(
        'ballot_box',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('receipt_hash', sa.String(length=64), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'],
                                name=op.f('fk_ballot_box_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ballot_box_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_box')),
        sa.UniqueConstraint('receipt_hash', name=op.f('uq_ballot_box_receipt_hash')),
    )
    op.create_index(op.f('ix_ballot_box_campaign_id'), 'ballot_box', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_ballot_box_tenant_id'), 'ballot_box', ['tenant_id'], unique=False)

    op.add_column('ballot_tokens', sa.Column('used', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE ballot_tokens SET used = TRUE WHERE used_at IS NOT NULL")
    op.execute("ALTER TABLE ballot_tokens DROP COLUMN used_at")
    op.execute("ALTER TABLE ballots DROP COLUMN submitted_hour")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # a dropped column stays in the old row versions: write new ones, vacuum the old
        op.execute("UPDATE ballot_tokens SET used = used")

    # The trigger on ballots adds an inbox row per inserted ballot; keep the inbox as it was
    # (rows already counted must not be counted again).
    op.execute("CREATE TEMPORARY TABLE mix_inbox AS SELECT tenant_id, campaign_id, ballot_id, claimed FROM tally_inbox")
    op.execute("DELETE FROM tally_inbox")
    for table in REWRITTEN:
        _rewrite_in_random_order(table)
    op.execute("DELETE FROM tally_inbox")
    op.execute("INSERT INTO tally_inbox (tenant_id, campaign_id, ballot_id, claimed) "
               "SELECT tenant_id, campaign_id, ballot_id, claimed FROM mix_inbox")
    op.execute("DROP TABLE mix_inbox")
    if postgres:
        with op.get_context().autocommit_block():
            for table in (*REWRITTEN, "ballot_tokens", "tally_inbox"):
                op.execute(f"VACUUM {table}")


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM ballot_box")).scalar_one():
        raise RuntimeError("ballot_box still holds ballots: close their campaigns (the mixer empties the box) "
                           "before downgrading")
    # The times were dropped on purpose; the old columns come back with the campaign's opening.
    op.add_column('ballots', sa.Column('submitted_hour', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ballots SET submitted_hour = (SELECT c.opens_at FROM campaigns c "
               "WHERE c.id = ballots.campaign_id)")
    op.add_column('ballot_tokens', sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ballot_tokens SET used_at = (SELECT c.opens_at FROM campaigns c "
               "WHERE c.id = ballot_tokens.campaign_id) WHERE used")
    op.execute("ALTER TABLE ballot_tokens DROP COLUMN used")
    op.drop_index(op.f('ix_ballot_box_tenant_id'), table_name='ballot_box')
    op.drop_index(op.f('ix_ballot_box_campaign_id'), table_name='ballot_box')
    op.drop_table('ballot_box')
