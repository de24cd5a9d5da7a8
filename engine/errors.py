"""The exceptions the CLI turns into a single clear line (exit 2) instead of a traceback."""


class UserError(Exception):
    """Something the user can fix: a bad path, an unknown model, a missing store, a busy store."""


class StoreError(UserError):
    """A store that is missing, unreadable or from a newer vexplore; the message is one line."""
