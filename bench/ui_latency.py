"""Does the app stay responsive? Event-loop lag of the running app, headless, with a study in progress.

    python bench/ui_latency.py [--seconds 6] [--tab importance] [--metrics 3] [--trials 1000 10000 100000]

For 1,000 and 10,000 trials already in the leaderboard (a study directory whose journal is filled with
synthetic finished trials, then resumed), 2 workers run a CPU-bound objective (0.2 s a trial) that reports
every 20 ms while a probe measures how late the event loop wakes up. The same probe on the idle app is the
peer. Prints time to first frame, lag p50/p99 and the peak memory of the process that measured (a fresh
one a size). Targets (issues 3 and 14): first frame < 1 s; p99 < 50 ms at 10,000 and 100,000; peak memory
< 400 MB at 100,000.
The study is opened once by a writer first, as the run that made it would have left it (with a checkpoint
of its journal, storage/checkpoint.py); "no checkpoint" is the first frame of a bare journal.
`--tab` shows that tab of the curves pane while trials run (importance, parallel, contour, front...);
`--metrics 3` makes it a study of three metrics (a Pareto ranking of every finished trial to keep current).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from textual.widgets import TabbedContent

from tui_tuner.app.app import TunerApp
from tui_tuner.app.document import StudyDocument
from tui_tuner.records import Finished, Reported, Started
from tui_tuner.spec import load_spec
from tui_tuner.records import to_json
from tui_tuner.storage import JOURNAL_NAME, dumps
from tui_tuner.study import Study

TRAIN = '''
import time

def objective(params, trial):
    end = time.process_time() + 0.2
    step = 0
    while time.process_time() < end:
        spin = time.process_time() + 0.02
        while time.process_time() < spin:
            pass
        trial.report(step, loss=params["x"] / (step + 1), lr=0.1)
        step += 1
    return {"loss": params["x"], "b": 1 - params["x"] + params["y"] / 100, "c": params["y"] / 100}
'''

STUDY = '''
name: ui-latency
objective: {python: "train.py:objective", metric: METRIC, direction: minimize}
search: {strategy: random, trials: TRIALS, workers: 2, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
  y: {type: int, low: 1, high: 100, log: true}
'''


METRICS = ["loss", "b", "c"]


def make_study(root: Path, existing: int, metrics: int = 1) -> Path:
    """A study directory holding `existing` finished trials (synthetic, for load), with budget left."""
    (root / "train.py").write_text(TRAIN)
    path = root / "study.yaml"
    metric = "loss" if metrics == 1 else f"[{', '.join(METRICS[:metrics])}]"
    path.write_text(STUDY.replace("TRIALS", str(existing + 10_000)).replace("METRIC", metric))
    study = Study.create(load_spec(path), root / "run")
    rng = np.random.default_rng(0)
    with open(study.directory / JOURNAL_NAME, "a") as journal:  # at once: 300,000 durable appends take a minute
        for n in range(existing):
            params = {"x": float(rng.random()), "y": int(rng.integers(1, 100))}
            values = [params["x"], 1 - params["x"] + params["y"] / 100, params["y"] / 100][:metrics]
            for record in (Started(n, params, n, time=0.0), Reported(n, 0, {"loss": params["x"]}, time=0.0),
                           Finished(n, params["x"], {}, 0.1, time=0.0, values=values if metrics > 1 else None)):
                journal.write(dumps(to_json(record)) + "\n")
    study._journal.close()
    study._release_lock()  # the app, in this same process, must be able to take it: else no trial runs
    return study.directory


async def lag_probe(seconds: float, interval: float = 0.01) -> list[float]:
    """How late each 10 ms sleep wakes up, in ms."""
    lags = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append((time.perf_counter() - before - interval) * 1e3)
    return lags


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def time_to_first_frame(directory: Path) -> float:
    """Seconds from opening the study to the app's first frame."""
    began = time.perf_counter()
    study = Study.open(directory)
    app = TunerApp(StudyDocument.from_spec(study.spec, directory.parent / "saved.yaml"), study)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        return time.perf_counter() - began


async def measure(directory: Path, seconds: float, tab: str | None = None) -> dict:
    """First frame, then the lag probe idle and while trials run, in the app on the study in `directory`."""
    began = time.perf_counter()
    study = Study.open(directory)
    existing = study.log.count("finished")
    app = TunerApp(StudyDocument.from_spec(study.spec, directory.parent / "saved.yaml"), study)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first_frame = time.perf_counter() - began
        if tab:
            app.curves.query_one(TabbedContent).active = f"tab-{tab}"
        idle = await lag_probe(seconds / 2)
        await pilot.press("r")
        busy = await lag_probe(seconds)
        done = app.study.log.count("finished") - existing
        app.study.cancel()
        await app.workers.wait_for_complete()
    return {"first_frame": first_frame, "idle": idle, "busy": busy, "new_trials": done,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_own_process(coroutine_function, *args):
    """Run it in a fresh process: its peak memory is this measurement's alone."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run, coroutine_function, *args).result()


def _run(coroutine_function, *args):
    return asyncio.run(coroutine_function(*args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to probe while trials run")
    parser.add_argument("--tab", help="the curves pane's tab shown while trials run (default: curves)")
    parser.add_argument("--metrics", type=int, choices=(1, 2, 3), default=1, help="metrics of the study")
    parser.add_argument("--trials", type=int, nargs="+", default=[1_000, 10_000],
                        help="finished trials in the study (default: 1000 10000)")
    args = parser.parse_args()
    print(f"{'trials':>7} {'first frame':>12} {'no checkpoint':>14} {'idle p50/p99 ms':>16} "
          f"{'running p50/p99 ms':>19} {'p99 running/idle':>17} {'new trials':>11} {'peak MB':>8}")
    for existing in args.trials:
        with tempfile.TemporaryDirectory() as tmp:
            directory = make_study(Path(tmp), existing, args.metrics)
            bare = in_own_process(time_to_first_frame, directory)
            Study.open(directory, write=True)._release_lock()  # as the run that made it: it leaves a checkpoint
            r = in_own_process(measure, directory, args.seconds, args.tab)
        idle99, busy99 = pct(r["idle"], 99), pct(r["busy"], 99)
        print(f"{existing:>7,} {r['first_frame']:>11.2f}s {bare:>13.2f}s {pct(r['idle'], 50):>7.1f} / "
              f"{idle99:<7.1f} {pct(r['busy'], 50):>8.1f} / {busy99:<8.1f} {busy99 / max(idle99, 0.1):>17.1f} "
              f"{r['new_trials']:>11} {r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
