"""Where trials run: the process pool on this machine, or a dask.distributed cluster; one interface (base.py).

`make_executor` is the one place that chooses, from a study's settings. The dask executor is imported only
when chosen, so `distributed` stays an optional extra.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
from pathlib import Path

from ..errors import InputError
from ..results import shorten
from ..storage import TRIAL_LOG
from .base import LOST, Executor, ExecutorLost, Outcome, ReportHandler
from .pool import WORKERS_PER_CPU, ProcessExecutor, default_log_path, pool_size

__all__ = ["LOST", "Executor", "ExecutorLost", "Outcome", "ReportHandler", "ProcessExecutor", "check_dask_address",
           "check_dask_scheduler", "make_executor"]

DASK_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?[^\s/:]+:\d{1,5}", re.ASCII)  # fullmatch: no newline
LOCAL = re.compile(r"local(?::(\d+))?", re.ASCII)
INSTALL_DASK = "pip install 'tui-tuner[dask]'"


def check_dask_address(address: object, *, field: str, file: str | None = None) -> str:
    """`local`, `local:N` or a scheduler address (`tcp://10.0.0.5:8786`), with dask.distributed installed;
    else an InputError naming the field. Whether a scheduler answers there is the executor's to find out."""
    if not _is_dask_address(address):
        raise InputError(f"must be local, local:N (N worker processes on this machine) or a dask scheduler's "
                         f"address like tcp://10.0.0.5:8786, got {address!r}", file=file, field=field)
    local = LOCAL.fullmatch(address)
    cpus = os.cpu_count() or 1
    if local and local[1] and (len(local[1]) > 9 or int(local[1]) > WORKERS_PER_CPU * cpus):  # thousands of
        # processes would hang the machine
        raise InputError(f"{shorten(address, 40)} asks for {shorten(local[1].lstrip('0'), 20)} worker processes; this "
                         f"{cpus}-CPU machine runs at most {WORKERS_PER_CPU * cpus} ({WORKERS_PER_CPU} a CPU)",
                         file=file, field=field)
    if importlib.util.find_spec("distributed") is None:
        raise InputError(f"running trials on dask needs dask.distributed: {INSTALL_DASK}", file=file, field=field)
    return address


def check_dask_scheduler(address: str, *, field: str, file: str | None = None) -> None:
    """A scheduler answers at `address` (a short handshake; a `local` one is started with the study): checked
    before a study directory is made, so a wrong address leaves nothing behind."""
    if not LOCAL.fullmatch(address):
        from .dask import check_scheduler
        asyncio.run(check_scheduler(address, field=field, file=file))


def _is_dask_address(address: object) -> bool:
    if not isinstance(address, str):
        return False
    local = LOCAL.fullmatch(address)
    if local:
        return local[1] is None or local[1].strip("0") != ""
    return bool(DASK_ADDRESS.fullmatch(address)) and 0 < int(address.rsplit(":", 1)[1]) < 65536


def make_executor(*, dask: str | None, workers: int | None, trials_left: int | None, trial_memory: int | None,
                  directory: Path, code_folder: str | None) -> tuple[Executor, str | None]:
    """The study's executor and a one-line note when it runs fewer trials at once than asked. On dask,
    `workers` (default: the cluster's threads) is how many trials run at once; `code_folder` is copied to
    the cluster's workers."""
    if dask:
        from .dask import DaskExecutor
        return DaskExecutor(dask, workers=workers, memory_limit=trial_memory, code_folder=code_folder,
                            trial_log=directory / TRIAL_LOG), None
    size, note = pool_size(workers, trials_left=trials_left, trial_memory=trial_memory)
    return ProcessExecutor(size, log_path=default_log_path(directory), trial_log=directory / TRIAL_LOG,
                           memory_limit=trial_memory), note
