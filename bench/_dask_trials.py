"""The trials of bench/dask_speedup.py, in a module of their own so workers import them by name (the bench's
own module is `__main__` there)."""

import time


def noop(params, trial):
    return 0.0


def sleepy(params, trial):
    """Waits, as a trial bound by I/O or a GPU does: three reports over `seconds`."""
    for step in range(3):
        time.sleep(params["seconds"] / 3)
        trial.report(step, value=params["x"])
    return params["x"]


def burn(params, trial):
    """Pure-Python CPU work for `seconds` of this process's CPU time (it must occupy a core)."""
    end = time.process_time() + params["seconds"]
    x = 0
    while time.process_time() < end:
        for i in range(10_000):
            x += i * i
    return float(x % 7)
