"""the rectification ledger (整改台账): items, their history, evidence files

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa



revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rectification_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('source_label', sa.String(length=300), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(length=100), nullable=False),
    sa.Column('measure', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_rectification_items_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'subject_id'], ['subjects.tenant_id', 'subjects.id'], name=op.f('fk_rectification_items_tenant_id_subject_id_subjects')),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_rectification_items_tenant_id_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rectification_items_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_items')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_rectification_items_tenant_id_id'))
    )
    with op.batch_alter_table('rectification_items', schema=None) as batch_op:
        batch_op.create_index('ix_rectification_items_campaign_state', ['campaign_id', 'state'], unique=False)
        batch_op.create_index('ix_rectification_items_subject', ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_items_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_rectification_items_unit', ['unit_id'], unique=False)

    op.create_table('rectification_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['rectification_items.tenant_id', 'rectification_items.id'], name=op.f('fk_rectification_events_tenant_id_item_id_rectification_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rectification_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_events'))
    )
    with op.batch_alter_table('rectification_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_events_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('rectification_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['rectification_items.tenant_id', 'rectification_items.id'], name=op.f('fk_rectification_files_tenant_id_item_id_rectification_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rectification_files_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_files'))
    )
    with op.batch_alter_table('rectification_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_files_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_files_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('rectification_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_files_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_files_item_id'))

    op.drop_table('rectification_files')
    with op.batch_alter_table('rectification_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_events_item_id'))

    op.drop_table('rectification_events')
    with op.batch_alter_table('rectification_items', schema=None) as batch_op:
        batch_op.drop_index('ix_rectification_items_unit')
        batch_op.drop_index(batch_op.f('ix_rectification_items_tenant_id'))
        batch_op.drop_index('ix_rectification_items_subject')
        batch_op.drop_index('ix_rectification_items_campaign_state')

    op.drop_table('rectification_items')
