"""Where jobs run: in this process, in N worker processes on this machine, or as Ray tasks on an
existing cluster. Each backend takes jobs up to its ``slots`` and hands back what finished."""

from __future__ import annotations

import multiprocessing
import os
import socket
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from privbench.bench.execute import Finished, execute
from privbench.bench.jobs import Job
from privbench.errors import ConfigError, InputError


class Backend(Protocol):
    slots: int  # jobs at once
    cores: int  # cores the running jobs share (0: leave torch's threads as they are)

    def submit(self, job: Job, threads: int) -> None: ...

    def wait(self, timeout: float) -> list[Finished]: ...

    def close(self) -> None: ...


class InlineBackend:
    """One job at a time in this process (``--jobs 1``)."""

    slots = 1
    cores = 0

    def __init__(self, store_root: str) -> None:
        self.store_root = store_root
        self.queue: list[Job] = []

    def submit(self, job: Job, threads: int = 0) -> None:
        self.queue.append(job)

    def wait(self, timeout: float) -> list[Finished]:
        return [execute(self.queue.pop(0), self.store_root)] if self.queue else []

    def close(self) -> None:
        self.queue.clear()


class ProcessBackend:
    """``slots`` worker processes (spawned, reused across jobs); each job gets its share of the cores."""

    def __init__(self, store_root: str, slots: int) -> None:
        self.store_root, self.slots = store_root, slots
        self.cores = os.cpu_count() or 1
        self.futures: dict[Future[Finished], Job] = {}
        self.pool = self._pool()

    def _pool(self) -> ProcessPoolExecutor:
        """A pool whose workers start now and import what jobs need, while the caller resolves the jobs."""
        pool = ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.slots):
            pool.submit(warm_up)
        return pool

    def submit(self, job: Job, threads: int) -> None:
        self.futures[self.pool.submit(execute, job, self.store_root, threads)] = job

    def wait(self, timeout: float) -> list[Finished]:
        done, _ = wait_futures(list(self.futures), timeout=timeout, return_when=FIRST_COMPLETED)
        finished = []
        for future in done:
            job = self.futures.pop(future)
            try:
                finished.append(future.result())
            except BrokenProcessPool:  # a worker died (killed, out of memory): its jobs failed, the bench goes on
                finished.append(_died(job, self.store_root))
                self.pool = self._pool()
        return finished

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class RayBackend:
    """Each job a Ray task (one CPU) on an existing cluster, writing its folder into the shared store.

    ``address`` is a cluster's HOST:PORT (or ``ray://HOST:PORT``), or ``local`` for a new local instance
    with ``local_cpus`` CPUs. The store must be a path every node sees."""

    def __init__(self, store_root: str, address: str, local_cpus: int) -> None:
        if address != "local":
            check_reachable(address)
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # silence a FutureWarning on CPU nodes
        import ray

        try:
            if address == "local":
                ray.init(num_cpus=local_cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise InputError(f"--ray {address}: {str(err).splitlines()[0]}") from None
        self.ray, self.store_root = ray, store_root
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        nodes = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
        self.cores = max(1, int(min(nodes))) if nodes else 1  # a task's CPUs must fit on one node
        self.task = ray.remote(execute)
        self.refs: dict[Any, Job] = {}

    def submit(self, job: Job, threads: int) -> None:
        self.refs[self.task.options(num_cpus=threads).remote(job, self.store_root, threads)] = job

    def wait(self, timeout: float) -> list[Finished]:
        if not self.refs:
            return []
        ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        finished = []
        for ref in ready:
            job = self.refs.pop(ref)
            try:
                finished.append(self.ray.get(ref))
            except self.ray.exceptions.RayError as err:  # the task's worker died or the node was lost
                finished.append(_died(job, self.store_root, str(err).splitlines()[0]))
        return finished

    def close(self) -> None:
        self.ray.shutdown()


def warm_up() -> None:
    """Import what every job needs (torch, the methods, the attacks) once per worker process."""
    import privbench.attacks.runner  # noqa: F401
    import privbench.experiment  # noqa: F401


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail at once, in one line, when nothing listens at a Ray address (ray.init would retry for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--ray {address}: expected HOST:PORT, ray://HOST:PORT or local")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise InputError(f"--ray {address}: no Ray cluster reachable there ({err.strerror or err})") from None


def _died(job: Job, store_root: str, why: str = "its worker process died") -> Finished:
    from privbench.bench.store import Store

    error = f"{why} (killed, or out of memory)"
    Store(store_root).record_failure(job.key, job.label, error)
    return Finished(job.key, "failed", 0.0, error)


def backend_for(store_root: str, *, jobs: int, ray: str | None) -> Backend:
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    if ray is not None:
        return RayBackend(store_root, ray, jobs)
    return InlineBackend(store_root) if jobs == 1 else ProcessBackend(store_root, jobs)
