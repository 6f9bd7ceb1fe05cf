"""Where experiment trials run: here, one after the other or in parallel processes, or on Ray.

A trial is a picklable spec handed to a top-level function that trains, evaluates and returns a
result row (see :mod:`aiducation.experiments.grid` and :mod:`~aiducation.experiments.kfold`).
Trials are independent and write their own run directory, so any backend can run them in any
order and a stopped experiment resumes where it stopped.

Local parallel runs split the machine's cores between processes (``threads`` torch threads
each) so that ``workers × threads`` never exceeds the cores. The Ray backend submits each trial
as a Ray task reserving ``threads`` CPUs (and ``gpus`` GPUs) on an existing cluster
(``address``) or on a local Ray instance; Ray is imported only when used.

GPUs: several local trials may share one GPU (``--workers`` with ``--device cuda``); with
several GPUs trial i runs on ``cuda:(i mod GPUs)`` (:func:`trial_devices`). A Ray task runs on
the GPU Ray reserved for it (``gpus`` per task; 0.5 puts two trials on one GPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

BACKENDS = ("local", "ray")


@dataclass
class BackendConfig:
    """How to run trials."""

    name: str = "local"  # local | ray
    workers: int = 0  # trials at once (0: 1 locally; on Ray as many as the cluster's CPUs fit)
    threads: int = 0  # torch threads (Ray: CPUs) per trial (0: local cores // workers; Ray 1)
    address: str | None = None  # Ray cluster ("auto", "ray://head:10001"); None: local Ray
    gpus: float = 0.0  # GPUs reserved per Ray task

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.name!r}")
        if self.workers < 0 or self.threads < 0:
            raise ValueError("workers and threads must be at least 0")


def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_trial(backend: BackendConfig, cores: int | None = None) -> int:
    """Torch threads for each trial: explicit, or the cores shared fairly between workers."""
    if backend.threads:
        return backend.threads
    if backend.name == "ray":
        return 1
    return max(1, (cores or available_cores()) // max(1, backend.workers))


def trial_devices(backend: BackendConfig, device: str, n_trials: int) -> list[str]:
    """The device of each trial (see :func:`aiducation.devices.trial_devices`): one GPU per
    trial round-robin over several local GPUs, the GPU Ray reserved on Ray."""
    from aiducation.devices import trial_devices as devices_for

    return devices_for(device, n_trials, workers=backend.workers, ray_gpus=backend.gpus,
                       ray=backend.name == "ray")  # fmt: skip


def run_trials(
    fn: Callable[[Any], dict],
    specs: Sequence[Any],
    backend: BackendConfig,
    desc: str = "trials",
) -> list[dict]:
    """Run ``fn(spec)`` for every spec on ``backend``; results come back in ``specs`` order."""
    if not specs:
        return []
    if backend.name == "ray":
        return _run_ray(fn, specs, backend, desc)
    if backend.workers <= 1:
        return [fn(spec) for spec in _progress(specs, desc)]
    return _run_processes(fn, specs, backend.workers, desc)


def _progress(items: Sequence[Any], desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="run", dynamic_ncols=True)


def _run_processes(
    fn: Callable[[Any], dict], specs: Sequence[Any], workers: int, desc: str
) -> list[dict]:
    """Fresh (spawned) processes: no torch thread pool is inherited across a fork."""
    from tqdm.auto import tqdm

    results: list[dict | None] = [None] * len(specs)
    with (
        ProcessPoolExecutor(min(workers, len(specs)), mp_context=get_context("spawn")) as pool,
        tqdm(total=len(specs), desc=desc, unit="run", dynamic_ncols=True) as bar,
    ):
        pending = {pool.submit(fn, spec): i for i, spec in enumerate(specs)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    results[pending.pop(future)] = future.result()
                    bar.update(1)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results  # type: ignore[return-value]


def _run_ray(
    fn: Callable[[Any], dict], specs: Sequence[Any], backend: BackendConfig, desc: str
) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise ImportError("the ray backend needs Ray: pip install 'aiducation[ray]'") from None
    from tqdm.auto import tqdm

    if not ray.is_initialized():
        if backend.address:
            ray.init(address=backend.address, log_to_driver=False)
        else:
            ray.init(num_cpus=available_cores(), include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=threads_per_trial(backend), num_gpus=backend.gpus)(fn)
    results: list[dict | None] = [None] * len(specs)
    queue = list(enumerate(specs))
    in_flight: dict[Any, int] = {}
    with tqdm(total=len(specs), desc=f"{desc} (ray)", unit="run", dynamic_ncols=True) as bar:
        try:
            while queue or in_flight:
                while queue and (not backend.workers or len(in_flight) < backend.workers):
                    i, spec = queue.pop(0)
                    in_flight[task.remote(spec)] = i
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    results[in_flight.pop(ref)] = ray.get(ref)
                    bar.update(1)
        except BaseException:
            for ref in in_flight:
                ray.cancel(ref)
            raise
    return results  # type: ignore[return-value]
