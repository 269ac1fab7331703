"""Subcommands of the `edge` CLI, one module each, each with `register(subparsers)`."""
