"""`rca topology load|show|schema` (being built)."""


def add_parser(subparsers) -> None:
    """Register `rca topology`."""
    subparsers.add_parser("topology", help="declarative topology (being built)")
