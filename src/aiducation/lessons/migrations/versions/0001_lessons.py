"""The lesson history: lessons with each state's share, their minutes and their students.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def _lesson_key() -> sa.Column:
    return sa.Column(
        "lesson_id", sa.Integer, sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("course", sa.String(200), nullable=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("classes", sa.JSON, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("analysed_s", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("faces_seen", sa.Integer, nullable=False),
        sa.Column("faces_answered", sa.Integer, nullable=False),
        sa.Column("students", sa.Integer, nullable=False),
        sa.Column("tracks", sa.Integer, nullable=False),
        sa.Column("model", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sqlite_autoincrement=True,  # a deleted lesson's id is never given to another
    )
    op.create_index("ix_lessons_course_day", "lessons", ["course", "day"])
    op.create_table(
        "lesson_states",
        _lesson_key(),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("low", sa.Float, nullable=True),
        sa.Column("high", sa.Float, nullable=True),
    )
    op.create_table(
        "lesson_minutes",
        _lesson_key(),
        sa.Column("minute", sa.Integer, primary_key=True),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("faces", sa.Integer, nullable=False),
        sa.Column("shares", sa.JSON, nullable=False),
    )
    op.create_table(
        "lesson_students",
        _lesson_key(),
        sa.Column("student", sa.Integer, primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("dominant", sa.String(40), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("lesson_students", "lesson_minutes", "lesson_states"):
        op.drop_table(table)
    op.drop_index("ix_lessons_course_day", table_name="lessons")
    op.drop_table("lessons")
