"""Start a Flower SuperLink and one SuperNode per participant on this machine (tests, benchmarks, trials).

Across machines, start the same processes by hand (docs/federated.md); this is the one-machine case.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent  # flower-superlink and flower-supernode live beside this Python
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")


class LocalFederation:
    """A SuperLink on 127.0.0.1 and a SuperNode for each of ``participants`` of the dataset at ``dataset``
    (logs in ``logs``). ``address`` is what ``--superlink`` takes; ``stop`` ends every process started.
    ``threads`` sets the torch threads of every Flower process (``OMP_NUM_THREADS``; the ServerApp and
    ClientApp processes inherit it): the in-process engine's count gives its arithmetic (None: torch's
    default)."""

    def __init__(self, dataset: Path, participants: list[str], logs: Path, *, threads: int | None = None) -> None:
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        if threads is not None:
            self.env["OMP_NUM_THREADS"] = str(threads)
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        try:
            self._start("superlink", "flower-superlink", "--insecure", "--port", str(port))
            wait_for_port(port, self.processes["superlink"])
            for pid in participants:
                self._start(pid, "flower-supernode", "--insecure", "--superlink", self.address,
                            "--port", str(free_port()),
                            "--node-config", f'participant="{pid}" dataset="{Path(dataset).resolve()}"')
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, program: str, *args: str) -> None:
        with open(self.logs / f"{name}.log", "w") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen([str(BIN / program), *args], env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def stop_node(self, name: str) -> None:
        """Stop one process (SIGTERM to its process group) and wait for it."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> LocalFederation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
