"""seasons (年度评议): what an oversight tenant issues down, to whom, what came back up, and
notices; a campaign knows the season it was built from and the parts it fixes

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('from_tenant_id', sa.Integer(), nullable=True),
    sa.Column('season_id', sa.Integer(), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_tenant_id'], ['tenants.id'], name=op.f('fk_notices_from_tenant_id_tenants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('seasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=50), nullable=False),
    sa.Column('report_due', sa.Date(), nullable=False),
    sa.Column('min_turnout', sa.String(length=20), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('fixed', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seasons_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seasons')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_seasons_tenant_id_id'))
    )
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seasons_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('season_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('target_tenant_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_season_issues_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_tenant_id'], ['tenants.id'], name=op.f('fk_season_issues_target_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'season_id'], ['seasons.tenant_id', 'seasons.id'], name=op.f('fk_season_issues_tenant_id_season_id_seasons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_season_issues_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_season_issues')),
    sa.UniqueConstraint('season_id', 'target_tenant_id', name=op.f('uq_season_issues_season_id_target_tenant_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_season_issues_tenant_id_id'))
    )
    with op.batch_alter_table('season_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_season_issues_target_tenant_id'), ['target_tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_season_issues_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('season_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('table_name', sa.String(length=200), nullable=False),
    sa.Column('table_data', sa.LargeBinary(), nullable=True),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'issue_id'], ['season_issues.tenant_id', 'season_issues.id'], name=op.f('fk_season_submissions_tenant_id_issue_id_season_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_season_submissions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_season_submissions')),
    sa.UniqueConstraint('issue_id', 'number', name=op.f('uq_season_submissions_issue_id_number')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_season_submissions_tenant_id_id'))
    )
    with op.batch_alter_table('season_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_season_submissions_issue', ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_season_submissions_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('season_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('season_fixed', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_index(batch_op.f('ix_campaigns_season_id'), ['season_id'], unique=False)



def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_season_id'))
        batch_op.drop_column('season_fixed')
        batch_op.drop_column('season_id')

    with op.batch_alter_table('season_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_season_submissions_tenant_id'))
        batch_op.drop_index('ix_season_submissions_issue')

    op.drop_table('season_submissions')
    with op.batch_alter_table('season_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_season_issues_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_season_issues_target_tenant_id'))

    op.drop_table('season_issues')
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seasons_tenant_id'))

    op.drop_table('seasons')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_tenant_id'))

    op.drop_table('notices')
