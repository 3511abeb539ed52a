"""Objectives for the executor tests: module-level, so worker processes can import them by name.

The ones that start processes write every pid they start to `params["pids"]` (in a study file, where
params are the search space's: to $EXECUTOR_TEST_PIDS), so a test can check, by pid, that nothing
outlived the trial.
"""

import os
import subprocess
import time


def _note_pids(params, *pids):
    with open(params.get("pids") or os.environ["EXECUTOR_TEST_PIDS"], "a") as f:
        f.write("".join(f"{pid}\n" for pid in pids))


def _sleepers(params):
    """Three `sleep 60` children: two in the worker's group, one in a session of its own."""
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    procs.append(subprocess.Popen(["sleep", "60"], start_new_session=True))
    _note_pids(params, *(p.pid for p in procs))


def children_then_hang(params, trial):
    _sleepers(params)
    time.sleep(60)


def worker_and_children_then_hang(params, trial):
    _note_pids(params, os.getpid())
    children_then_hang(params, trial)


def children_then_return(params, trial):
    _sleepers(params)
    return float(os.getpid())  # the worker's pid: a test can see the same worker run the next trial


def grandchild_daemon(params, trial):
    """A shell that starts `sleep 60` in the background and exits: the sleep is orphaned at once."""
    out = subprocess.run(["sh", "-c", "setsid sleep 60 >/dev/null 2>&1 & echo $!"], capture_output=True,
                         text=True, check=True)
    _note_pids(params, int(out.stdout))
    return 0.0


def worker_pid(params, trial):
    return float(os.getpid())


def eats_memory(params, trial):
    """Touches `params["mb"]` MB page by page, slowly enough for a watcher to see it grow."""
    block = bytearray(params["mb"] << 20)
    for start in range(0, len(block), 1 << 20):
        block[start:start + (1 << 20):4096] = b"x" * 256
        if start % (32 << 20) == 0:
            time.sleep(0.01)
    time.sleep(2)
    return 1.0


def returns(params, trial):
    """Returns what `params["what"]` names: the results an objective should not hand back, and some it may."""
    import numpy as np

    what = params["what"]
    return {
        "generator": lambda: (i for i in range(3)),
        "lambda in a dict": lambda: {"value": 1.0, "fn": lambda: 1},
        "an object": lambda: object(),
        "10 MB string": lambda: "x" * 10_000_000,
        "text metric": lambda: {"value": 1.0, "note": "hello"},
        "bool": lambda: True,
        "None": lambda: None,
        "huge int": lambda: 10 ** 400,
        "numpy scalar": lambda: np.float32(0.5),
        "numpy metrics": lambda: {"value": np.int64(2), "loss": np.float64(0.25)},
        "10 MB exception": lambda: (_ for _ in ()).throw(RuntimeError("e" * 10_000_000)),
    }[what]()


def reports(params, trial):
    """Reports `params["values"]` at step `params["step"]`, then returns 1.0."""
    trial.report(params["step"], **params["values"])
    return 1.0


def forks(params, trial):
    """Forks: both copies return, only one answer may reach the engine."""
    child = os.fork()
    if child:
        _note_pids(params, child)
    return params["x"]


def count_workers(params, trial):
    """How many worker processes the executor started: this one and its siblings, the fork server's other
    live children (counted whether or not they have named themselves yet)."""
    parent = os.getppid()
    siblings = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        siblings += fields[0] != "Z" and int(fields[1]) == parent
    return {"value": params.get("x", 0.0), "workers": siblings}


def closes_stdio(params, trial):
    """Closes the worker's stdout and stderr (its log); a second call fails on the closed descriptors."""
    os.close(1)
    os.close(2)
    return float(os.getpid())


def becomes_sleep(params, trial):
    """Replaces the worker with `sleep 60`: the engine must notice it is gone without a trial timeout."""
    _note_pids(params, os.getpid())
    os.execv("/bin/sleep", ["sleep", "60"])


def blas_threads(params, trial):
    from threadpoolctl import threadpool_info

    return float(max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"))
