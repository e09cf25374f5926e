"""a campaign's timetable (phases) and the meetings its units held (what the summary counts)

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_campaign_phases_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_phases_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_phases')),
    sa.UniqueConstraint('campaign_id', 'kind', name=op.f('uq_campaign_phases_campaign_id_kind')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_campaign_phases_tenant_id_id'))
    )
    with op.batch_alter_table('campaign_phases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_phases_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_meetings_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_meetings_tenant_id_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_meetings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_meetings_tenant_id_id'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_campaign_unit', ['campaign_id', 'unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_meetings_unit', ['unit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_unit')
        batch_op.drop_index(batch_op.f('ix_meetings_tenant_id'))
        batch_op.drop_index('ix_meetings_campaign_unit')

    op.drop_table('meetings')
    with op.batch_alter_table('campaign_phases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_phases_tenant_id'))

    op.drop_table('campaign_phases')
