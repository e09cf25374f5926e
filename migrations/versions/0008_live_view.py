"""live results in steps of k ballots: the campaign's live_results setting and the shown
snapshot (live_items, live_counts)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _tenant_fks(table: str) -> list:
    return [
        sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'],
                                name=op.f(f'fk_{table}_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                ondelete='CASCADE'),
    ]


# Plain ADD COLUMN, not batch mode: on SQLite a batch operation copies the table, which would
# drop the trigger on campaigns that deletes a campaign's tally cells (migration 0005).
def upgrade():
    op.add_column('campaigns', sa.Column('live_results', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'live_items',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('shown', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        *_tenant_fks('live_items'),
        sa.PrimaryKeyConstraint('campaign_id', 'subject_id', 'item_id', name=op.f('pk_live_items')),
    )
    op.create_index(op.f('ix_live_items_tenant_id'), 'live_items', ['tenant_id'], unique=False)
    op.create_table(
        'live_counts',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('choice_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        *_tenant_fks('live_counts'),
        sa.PrimaryKeyConstraint('campaign_id', 'subject_id', 'item_id', 'choice_id', name=op.f('pk_live_counts')),
    )
    op.create_index(op.f('ix_live_counts_tenant_id'), 'live_counts', ['tenant_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_live_counts_tenant_id'), table_name='live_counts')
    op.drop_table('live_counts')
    op.drop_index(op.f('ix_live_items_tenant_id'), table_name='live_items')
    op.drop_table('live_items')
    op.drop_column('campaigns', 'live_results')
