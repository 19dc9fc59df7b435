"""The `rca` command line: the one place that wires the subcommands of every package."""
