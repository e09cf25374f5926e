"""kept figures: each subject's sums (tally_subjects), answers per item × category × choice
(tally_items), the ballots behind each cell by category
and unit (tally_ballots) and per category (tally_runs.category_ballots), so a closed
campaign's results page reads stored rows instead of counting every answer

Revision ID: 0017
Revises: 0016
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tally_ballots',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('ballots', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_tally_ballots_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tally_ballots_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'subject_id', 'category_id', 'unit_id', name=op.f('pk_tally_ballots'))
    )
    with op.batch_alter_table('tally_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tally_ballots_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tally_items',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('choice_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_tally_items_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tally_items_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'item_id', 'category_id', 'choice_id', name=op.f('pk_tally_items'))
    )
    with op.batch_alter_table('tally_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tally_items_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tally_subjects',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('lowest', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_tally_subjects_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tally_subjects_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'subject_id', name=op.f('pk_tally_subjects'))
    )
    with op.batch_alter_table('tally_subjects', schema=None) as batch_op:
        batch_op.create_index('ix_tally_subjects_rate', ['campaign_id', 'rate'], unique=False)
        batch_op.create_index(batch_op.f('ix_tally_subjects_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('tally_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_ballots', sa.JSON(), nullable=False, server_default='{}'))
    _backfill()


# What the tally (results/tally.py at this revision) keeps, for the campaigns tallied before it
# kept them; ballots still waiting in the inbox are left to the next run, as a tally would.
_FLAGS = ("SELECT c.id AS choice_id, CASE WHEN c.counts_as_satisfied THEN 1 ELSE 0 END AS sat, "
          "CASE WHEN c.position = m.last THEN 1 ELSE 0 END AS low FROM scale_choices c JOIN "
          "(SELECT scale_id, MAX(position) AS last FROM scale_choices GROUP BY scale_id) m ON m.scale_id = c.scale_id")
_SUBJECTS = ("INSERT INTO tally_subjects (tenant_id, campaign_id, subject_id, total, satisfied, lowest, rate) "
             "SELECT t.tenant_id, t.campaign_id, t.subject_id, SUM(t.count), SUM(t.count * f.sat), SUM(t.count * f.low), "
             "SUM(t.count * f.sat) * 1.0 / NULLIF(SUM(t.count), 0) "
             f"FROM tally_counts t JOIN ({_FLAGS}) f ON f.choice_id = t.choice_id "
             "GROUP BY t.tenant_id, t.campaign_id, t.subject_id")
_ITEMS = ("INSERT INTO tally_items (tenant_id, campaign_id, item_id, category_id, choice_id, count) "
          "SELECT tenant_id, campaign_id, item_id, category_id, choice_id, SUM(count) FROM tally_counts "
          "GROUP BY tenant_id, campaign_id, item_id, category_id, choice_id")
_WAITING = "SELECT ballot_id FROM tally_inbox WHERE NOT claimed"
_BALLOTS = ("INSERT INTO tally_ballots (tenant_id, campaign_id, subject_id, category_id, unit_id, ballots) "
            "SELECT b.tenant_id, b.campaign_id, x.subject_id, x.category_id, b.unit_id, COUNT(DISTINCT x.ballot_id) "
            "FROM (SELECT subject_id, category_id, ballot_id FROM answers UNION ALL "
            "SELECT subject_id, category_id, ballot_id FROM comments) x JOIN ballots b ON b.id = x.ballot_id "
            f"WHERE b.campaign_id IN (SELECT campaign_id FROM tally_runs) AND b.id NOT IN ({_WAITING}) "
            "GROUP BY b.tenant_id, b.campaign_id, x.subject_id, x.category_id, b.unit_id")
_PER_CATEGORY = ("SELECT b.campaign_id, b.category_id, COUNT(*) FROM ballots b "
                 f"WHERE b.id NOT IN ({_WAITING}) AND (EXISTS (SELECT 1 FROM answers a WHERE a.ballot_id = b.id) "
                 "OR EXISTS (SELECT 1 FROM comments m WHERE m.ballot_id = b.id)) GROUP BY b.campaign_id, b.category_id")


def _backfill():
    conn = op.get_bind()
    conn.execute(sa.text(_SUBJECTS))
    conn.execute(sa.text(_ITEMS))
    conn.execute(sa.text(_BALLOTS))
    per: dict = {}
    for campaign_id, category_id, n in conn.execute(sa.text(_PER_CATEGORY)).all():
        per.setdefault(campaign_id, {})[str(category_id)] = int(n)
    for campaign_id, counts in per.items():
        conn.execute(sa.text("UPDATE tally_runs SET category_ballots = :v WHERE campaign_id = :c"),
                     {"v": json.dumps(counts), "c": campaign_id})



def downgrade():
    with op.batch_alter_table('tally_runs', schema=None) as batch_op:
        batch_op.drop_column('category_ballots')

    with op.batch_alter_table('tally_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tally_subjects_tenant_id'))
        batch_op.drop_index('ix_tally_subjects_rate')

    op.drop_table('tally_subjects')
    with op.batch_alter_table('tally_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tally_ballots_tenant_id'))

    op.drop_table('tally_ballots')
    with op.batch_alter_table('tally_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tally_items_tenant_id'))

    op.drop_table('tally_items')
