"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""


class InputError(Exception):
    """Bad input from the user: the message names the file/row/field and what was expected."""
