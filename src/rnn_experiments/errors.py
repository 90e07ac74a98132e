"""The one exception for user mistakes.

Raised deep (schema checks, encoding, device lookup) with a message that names the offending
value and what would be valid; only the CLI edge turns it into one line and exit status 2.
Bugs raise their own exceptions and keep their tracebacks.
"""

import argparse
from typing import NoReturn


class UserError(ValueError):
    """A bad config value or input, explained in one line."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse for this project's commands: a bad argument is a UserError, so the command
    reports it as one line and exit status 2 like every other user mistake."""

    def error(self, message: str) -> NoReturn:
        raise UserError(message)
