"""opinion themes: a tenant's keyword rules, a campaign's last grouping and its counts per theme and unit

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theme_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('excludes', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_theme_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_rules')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_theme_rules_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_theme_rules_tenant_id_name'))
    )
    with op.batch_alter_table('theme_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('theme_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=50), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('opinions', sa.Integer(), nullable=False),
    sa.Column('ballots', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_theme_counts_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_theme_counts_tenant_id_unit_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_theme_counts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_counts'))
    )
    with op.batch_alter_table('theme_counts', schema=None) as batch_op:
        batch_op.create_index('ix_theme_counts_campaign', ['campaign_id', 'theme'], unique=False)
        batch_op.create_index(batch_op.f('ix_theme_counts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('theme_runs',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tally_version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('opinions', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_theme_runs_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_theme_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_theme_runs'))
    )
    with op.batch_alter_table('theme_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_runs_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('theme_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_runs_tenant_id'))

    op.drop_table('theme_runs')
    with op.batch_alter_table('theme_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_counts_tenant_id'))
        batch_op.drop_index('ix_theme_counts_campaign')

    op.drop_table('theme_counts')
    with op.batch_alter_table('theme_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_rules_tenant_id'))

    op.drop_table('theme_rules')
