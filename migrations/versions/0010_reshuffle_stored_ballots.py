"""ballots stored before the mixer, rewritten in random order in a transaction of their own

Ballots cast before 0009 were written in the transaction that redeemed their link (PostgreSQL's
hidden ``xmin`` ties each to its link) and in voting order. This revision rewrites every ballot,
answer and comment in random order in one transaction, keeps the tally inbox as it was, and on
PostgreSQL then vacuums the old row versions (of 0009's rewritten links too). Re-running it is
harmless: it only shuffles again.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REWRITTEN = ("ballots", "answers", "comments")


def _rewrite_in_random_order(table: str) -> None:
    cols = ", ".join(c["name"] for c in sa.inspect(op.get_bind()).get_columns(table))
    op.execute(f"CREATE TEMPORARY TABLE mix_{table} AS SELECT {cols} FROM {table}")
    op.execute(f"DELETE FROM {table}")
    op.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM mix_{table} ORDER BY random()")
    op.execute(f"DROP TABLE mix_{table}")


def upgrade():
    # The trigger on ballots adds an inbox row per inserted ballot: keep the inbox as it was
    # (ballots already counted must not be counted again).
    op.execute("CREATE TEMPORARY TABLE mix_inbox AS SELECT tenant_id, campaign_id, ballot_id, claimed FROM tally_inbox")
    op.execute("DELETE FROM tally_inbox")
    for table in REWRITTEN:
        _rewrite_in_random_order(table)
    op.execute("DELETE FROM tally_inbox")
    op.execute("INSERT INTO tally_inbox (tenant_id, campaign_id, ballot_id, claimed) "
               "SELECT tenant_id, campaign_id, ballot_id, claimed FROM mix_inbox")
    op.execute("DROP TABLE mix_inbox")
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for table in (*REWRITTEN, "tally_inbox", "ballot_tokens"):
                op.execute(f"VACUUM {table}")


def downgrade():
    pass  # the order is not restored
