"""The lesson store's own errors: an id that names nothing, as its own :class:`InputError`, so
callers (the web pages' 404s) tell "no such lesson" from any other refusal without reading the
message."""

from __future__ import annotations

from aiducation.errors import InputError


class UnknownLesson(InputError):
    """No lesson has this id (never made, or deleted)."""

    def __init__(self, lesson_id: int, database: str) -> None:
        super().__init__(f"lesson {lesson_id}: no such lesson in {database}")
        self.lesson_id = lesson_id


class UnknownJob(InputError):
    """No job of the web app's queue has this id."""

    def __init__(self, job_id: int, database: str) -> None:
        super().__init__(f"job {job_id}: no such job in {database}")
        self.job_id = job_id
