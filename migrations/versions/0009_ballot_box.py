"""the sealed ballot box and the mixer; tokens keep only whether they were used, ballots no time

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch operation copies the table, which would
# drop the triggers of migration 0005 (ballots → tally_inbox). SQLite ≥ 3.35 drops columns.
# The ballots already stored are rewritten by 0010, in a transaction of its own (each revision
# has one): were they rewritten here, they would share this one with the links rewritten here.
def upgrade():
    op.create_table(
        'ballot_box',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('receipt_hash', sa.String(length=64), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
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
    if op.get_bind().dialect.name == "postgresql":
        # a dropped column's values stay in the old row versions: write new ones (0010 vacuums)
        op.execute("UPDATE ballot_tokens SET used = used")


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
