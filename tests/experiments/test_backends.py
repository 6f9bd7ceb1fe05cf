"""Backends: threads shared fairly, results in order, local processes, and Ray when installed."""

from __future__ import annotations

import os

import pytest

from aiducation.experiments.backends import BackendConfig, run_trials, threads_per_trial


def square_with_threads(x: int) -> dict:
    return {"x": x, "square": x * x, "pid": os.getpid()}


def test_threads_are_shared_between_workers() -> None:
    assert threads_per_trial(BackendConfig(workers=2), cores=2) == 1
    assert threads_per_trial(BackendConfig(workers=3), cores=16) == 5
    assert threads_per_trial(BackendConfig(workers=4), cores=2) == 1
    assert threads_per_trial(BackendConfig(), cores=8) == 8
    assert threads_per_trial(BackendConfig(workers=2, threads=3), cores=2) == 3
    assert threads_per_trial(BackendConfig(name="ray"), cores=64) == 1
    with pytest.raises(ValueError, match="backend"):
        BackendConfig(name="slurm")


def test_sequential_and_process_backends_return_results_in_order() -> None:
    specs = [3, 1, 2]
    local = run_trials(square_with_threads, specs, BackendConfig())
    assert [r["square"] for r in local] == [9, 1, 4]
    assert {r["pid"] for r in local} == {os.getpid()}
    parallel = run_trials(square_with_threads, specs, BackendConfig(workers=2))
    assert [r["square"] for r in parallel] == [9, 1, 4]
    assert os.getpid() not in {r["pid"] for r in parallel}
