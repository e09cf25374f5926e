"""publication window and opinions flag, the summary report's edited narrative

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('publish_opinions', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('narrative', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('narrative')
        batch_op.drop_column('publish_opinions')
        batch_op.drop_column('publish_until')
