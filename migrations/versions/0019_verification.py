"""verification: a campaign's seal (digest, k, time) and whether its ballot export is published;
counted receipt codes; each sealed ballot's leaf; on PostgreSQL, triggers that refuse any change
to a sealed campaign's ballot rows (except by deleting its whole tenant)

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

GUARDED = ("ballots", "answers", "comments", "counted_receipts", "seal_leaves")

# A row belongs to a sealed campaign while that campaign has a digest and its tenant still
# exists: deleting a tenant cascades to everything it owns (the tenant row is gone by the time
# the cascaded statements' triggers run), and that is the one way sealed rows may go.
SEALED_ROWS = """
    SELECT r.campaign_id FROM {rows} r
    JOIN campaigns c ON c.id = r.campaign_id AND c.seal_digest IS NOT NULL
    JOIN tenants t ON t.id = c.tenant_id LIMIT 1"""


def upgrade():
    op.create_table('counted_receipts',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_counted_receipts_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_counted_receipts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'code', name=op.f('pk_counted_receipts'))
    )
    op.create_index(op.f('ix_counted_receipts_tenant_id'), 'counted_receipts', ['tenant_id'], unique=False)
    op.create_table('seal_leaves',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('leaf', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_seal_leaves_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seal_leaves_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'ballot_id', name=op.f('pk_seal_leaves'))
    )
    op.create_index(op.f('ix_seal_leaves_tenant_id'), 'seal_leaves', ['tenant_id'], unique=False)
    # plain ADD COLUMN, not batch mode: on SQLite a batch copy of campaigns drops its triggers (0006)
    op.add_column('campaigns', sa.Column('seal_digest', sa.String(length=64), nullable=True))
    op.add_column('campaigns', sa.Column('seal_k', sa.Integer(), nullable=True))
    op.add_column('campaigns', sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaigns', sa.Column('publish_export', sa.Boolean(), nullable=False, server_default=sa.false()))
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the application refuses (verification.seal); PostgreSQL refuses as well
    # Statement-level triggers with transition tables: one check per statement, not per row (a
    # batch of the mixer writes 90 000 answers by COPY).
    op.execute(f"""
        CREATE FUNCTION pingyi_refuse_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE found integer;
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                SELECT c.id INTO found FROM campaigns c JOIN tenants t ON t.id = c.tenant_id
                WHERE c.seal_digest IS NOT NULL LIMIT 1;
            ELSIF TG_OP = 'INSERT' THEN
                {SEALED_ROWS.format(rows="new_rows")} INTO found;
            ELSE
                {SEALED_ROWS.format(rows="old_rows")} INTO found;
            END IF;
            IF found IS NOT NULL THEN
                RAISE EXCEPTION 'campaign % is sealed: its % cannot change', found, TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NULL;
        END $$""")
    for table in GUARDED:
        for event, referencing in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows"),
                                   ("DELETE", "OLD TABLE AS old_rows")):
            op.execute(f"CREATE TRIGGER {table}_sealed_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION pingyi_refuse_sealed()")
        op.execute(f"CREATE TRIGGER {table}_sealed_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pingyi_refuse_sealed()")
    # A seal is never taken off, nor a sealed campaign reopened or deleted (but with its tenant).
    op.execute("""
        CREATE FUNCTION pingyi_keep_seal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.seal_digest IS NULL THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP = 'DELETE' THEN
                IF EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
                    RAISE EXCEPTION 'campaign % is sealed: it cannot be deleted', OLD.id
                        USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN OLD;
            END IF;
            IF NEW.seal_digest IS DISTINCT FROM OLD.seal_digest OR NEW.seal_k IS DISTINCT FROM OLD.seal_k
               OR NEW.sealed_at IS DISTINCT FROM OLD.sealed_at OR NEW.state IN ('draft', 'open') THEN
                RAISE EXCEPTION 'campaign % is sealed: its seal and state cannot go back', OLD.id
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER campaigns_keep_seal BEFORE UPDATE OR DELETE ON campaigns "
               "FOR EACH ROW EXECUTE FUNCTION pingyi_keep_seal()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER campaigns_keep_seal ON campaigns")
        op.execute("DROP FUNCTION pingyi_keep_seal()")
        for table in GUARDED:
            for event in ("insert", "update", "delete", "truncate"):
                op.execute(f"DROP TRIGGER {table}_sealed_{event} ON {table}")
        op.execute("DROP FUNCTION pingyi_refuse_sealed()")
    for column in ('publish_export', 'sealed_at', 'seal_k', 'seal_digest'):
        op.drop_column('campaigns', column)
    op.drop_index(op.f('ix_seal_leaves_tenant_id'), table_name='seal_leaves')
    op.drop_table('seal_leaves')
    op.drop_index(op.f('ix_counted_receipts_tenant_id'), table_name='counted_receipts')
    op.drop_table('counted_receipts')
