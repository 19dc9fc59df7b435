"""`rca serve --processes N` wiring: what the command line hands the supervisor, and how it reports a failed start."""

from __future__ import annotations

import argparse
import functools
import pickle

import pytest

from rca.cli import serve_commands
from rca.cli.errors import UserError
from rca.service import supervisor
from settings.root import load_settings


def test_the_serving_process_start_pickles_for_spawned_processes():
    start = functools.partial(
        serve_commands.start_serving_process, load_settings(), "bolt://127.0.0.1:7687", "neo4j", 1
    )
    again = pickle.loads(pickle.dumps(start))
    assert again.func is serve_commands.start_serving_process and again.args[1:] == start.args[1:]


def test_a_failed_start_is_a_user_error_with_the_supervisors_message(monkeypatch):
    def refuse(service, start_process, announce):
        assert isinstance(start_process, functools.partial)
        raise supervisor.StartFailed("serving process 1: model: no model version 'x'")

    monkeypatch.setattr(supervisor, "serve", refuse)
    store = argparse.Namespace(uri="bolt://127.0.0.1:7687", user="neo4j")
    with pytest.raises(UserError, match=r"^serving process 1: model: no model version 'x'$"):
        serve_commands._serve_in_processes(load_settings(), None, store, 0, print)
