"""Errors of the command line, in their own module so subcommands and `python -m rca.cli.main` share one class."""


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""
