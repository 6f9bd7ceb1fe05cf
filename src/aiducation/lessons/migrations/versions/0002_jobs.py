"""The web app's job queue (survives a server restart), and lessons listed by date quickly.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("recording", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("lesson", sa.JSON, nullable=True),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.Column("started", UTC_TIME, nullable=True),
        sa.Column("finished", UTC_TIME, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column(
            "lesson_id",
            sa.Integer,
            sa.ForeignKey("lessons.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_state", "jobs", ["state", "id"])
    op.create_index("ix_lessons_day", "lessons", ["day", "id"])  # the list: newest first


def downgrade() -> None:
    op.drop_index("ix_lessons_day", table_name="lessons")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
