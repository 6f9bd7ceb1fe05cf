"""Alembic environment: run with the connection :func:`aiducation.lessons.database.migrate`
hands over (``config.attributes["connection"]``), inside its transaction."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the lesson schema is migrated by aiducation itself (LessonStore.open); "
        "no alembic.ini is needed or used"
    )
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
