"""Subcommands of the `edge` CLI; each module has `register(subparsers)`."""
