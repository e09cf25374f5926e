"""结果运用: the tenant's decisions about subjects after reviewing their results

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subject_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('review', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_subject_decisions_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'subject_id'], ['subjects.tenant_id', 'subjects.id'], name=op.f('fk_subject_decisions_tenant_id_subject_id_subjects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_subject_decisions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_decisions')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_subject_decisions_tenant_id_id'))
    )
    with op.batch_alter_table('subject_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_subject_decisions_campaign', ['campaign_id'], unique=False)
        batch_op.create_index('ix_subject_decisions_subject', ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_decisions_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('subject_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_decisions_tenant_id'))
        batch_op.drop_index('ix_subject_decisions_subject')
        batch_op.drop_index('ix_subject_decisions_campaign')

    op.drop_table('subject_decisions')
