"""The one exception for user mistakes.

Raised deep (schema checks, encoding, device lookup) with a message that names the offending
value and what would be valid; only the CLI edge turns it into one line and exit status 2.
Bugs raise their own exceptions and keep their tracebacks.
"""


class UserError(ValueError):
    """A bad config value or input, explained in one line."""
