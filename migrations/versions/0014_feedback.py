"""the feedback box (信息收集箱): anonymous entries for a unit, their answers

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_feedback_entries_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_feedback_entries_tenant_id_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_feedback_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_entries')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_feedback_entries_tenant_id_id'))
    )
    with op.batch_alter_table('feedback_entries', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_entries_campaign', ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_entries_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_feedback_entries_unit', ['unit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('feedback_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_entries_unit')
        batch_op.drop_index(batch_op.f('ix_feedback_entries_tenant_id'))
        batch_op.drop_index('ix_feedback_entries_campaign')

    op.drop_table('feedback_entries')
