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


# Plain ADD/DROP COLUMN, not batch mode: on SQLite a batch operation copies the table, which
# would drop the trigger on campaigns that deletes a campaign's tally cells (migration 0005).
def upgrade():
    op.add_column('campaigns', sa.Column('publish_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaigns', sa.Column('publish_opinions', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.add_column('campaigns', sa.Column('narrative', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    for column in ('narrative', 'publish_opinions', 'publish_until'):
        op.drop_column('campaigns', column)
