"""crashproc command line (placeholder until the pipeline lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    return 0


def process_crash_main(argv: list[str] | None = None) -> int:
    return 0
