"""Command-line argument types: a count of things to show is a whole number of 1 or more."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rca.cli.main import build_parser


@pytest.mark.parametrize(
    ("given", "words"), [("-3", "expected 1 or more, got -3"), ("0", "got 0"), ("x", "whole number")]
)
def test_diagnose_refuses_a_count_of_candidates_under_one(given, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["diagnose", "somewhere", "--top", given])
    assert exit_.value.code == 2 and words in capsys.readouterr().err


def test_diagnose_accepts_a_count_of_one_or_more():
    assert build_parser().parse_args(["diagnose", "somewhere", "--top", "3"]).top == 3


def test_demo_refuses_a_negative_top_k():
    done = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "demo", "--top-k", "-1"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--top-k: expected 1 or more" in done.stderr
