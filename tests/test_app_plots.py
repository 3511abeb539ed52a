"""The curves pane's plots that help decide (importance, parallel coordinates, contour, Pareto front) and the
leaderboard of a several-metric study, through Textual's Pilot, as a user sees them."""

import re
import time

import plotext
import pytest
from textual.widgets import TabbedContent

from test_app import Terminal, app_for, run_study, wait_until
from tui_tuner.app.widgets import study_plots
from tui_tuner.space import SearchSpace
from tui_tuner.records import Finished, Started, StudyHeader
from tui_tuner.storage import StudyLog

TRAIN = '''
def linear(params, trial):
    return 10 * params["x"] + params["y"]

def two(params, trial):
    return {"f1": params["x"], "f2": (1 - params["x"]) ** 2 + params["y"]}

def apart(params, trial):  # each metric its own knob
    return {"f1": 10 * params["x"] + 0.1 * params["y"], "f2": 10 * params["y"] + 0.1 * params["x"]}
'''


def study_file(tmp_path, objective, trials):
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "study.yaml"
    path.write_text(f"name: plots\nobjective: {{python: 'train.py:{objective}'}}\n"
                    f"search: {{strategy: random, trials: {trials}, workers: 2, seed: 0}}\n"
                    "params:\n  x: {type: float, low: 0, high: 1}\n  y: {type: float, low: 0, high: 1}\n"
                    "  lr: {type: float, low: 0.0001, high: 1, log: true}\n"
                    "  opt: {type: categorical, choices: [adam, sgd]}\n")
    return path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def plot_text(terminal, app, tab):
    return terminal.text(app.query_one(f"#plot-{tab}").region)


def legend_text(terminal, app):
    """The line(s) under the plot, as one line: it wraps where the pane ends."""
    return " ".join(" ".join(terminal.text(app.query_one("#curve-legend").region)).split())


async def open_tab(pilot, app, tab):
    app.curves.query_one(TabbedContent).active = f"tab-{tab}"
    await pilot.pause(0.6)


@pytest.mark.slow
async def test_importance_tab_puts_the_dominant_param_first_and_says_when_too_few(tmp_path):
    app = app_for(study_file(tmp_path, "linear", 3))
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        await open_tab(pilot, app, "importance")
        await wait_until(pilot, lambda: "too few finished trials" in legend_text(terminal, app))
        assert "not yet" in " ".join(plot_text(terminal, app, "importance"))
        app.strategy_pane.query_one("#field-trials").value = "60"
        await pilot.pause()
        await run_study(pilot, app)
        await wait_until(pilot, lambda: "fANOVA, 60 trials" in " ".join(plot_text(terminal, app, "importance")))
        labels = [line.split("┤")[0].split() for line in plot_text(terminal, app, "importance") if "┤" in line]
        legend = legend_text(terminal, app)
    assert [name for name, _ in labels] == ["x", "y", "lr", "opt"][:len(labels)] and len(labels) == 4
    assert int(labels[0][1].rstrip("%")) >= 80  # 10 * x against y: x explains nearly all of it
    assert re.search(r"x: best 0(\.0)?\.\.0\.1, worst 0\.9\.\.1", legend)  # minimised: small x is best


@pytest.mark.slow
async def test_with_several_metrics_M_shows_the_plots_of_the_next_one(tmp_path):
    path = study_file(tmp_path, "apart", 40)
    path.write_text(path.read_text().replace("objective: {python: 'train.py:apart'}",
                                             "objective: {python: 'train.py:apart', metric: [f1, f2], "
                                             "direction: [minimize, maximize]}"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        await open_tab(pilot, app, "importance")

        def top_param():
            bars = [line.split("┤")[0].split() for line in plot_text(terminal, app, "importance") if "┤" in line]
            return bars[0][0] if bars else None

        await wait_until(pilot, lambda: top_param() == "x")
        assert "M: next metric" in legend_text(terminal, app)
        app._focus_pane("curves")
        await pilot.press("M")
        await wait_until(pilot, lambda: top_param() == "y")  # f2 rests on y
        assert "f2" in plot_text(terminal, app, "importance")[0]
        await open_tab(pilot, app, "history")
        history = plot_text(terminal, app, "history")
        assert "optimization history (maximize)  (M: next metric)" in history[0]


@pytest.mark.slow
async def test_parallel_coordinates_and_contour_say_what_they_show(tmp_path):
    app = app_for(study_file(tmp_path, "linear", 30))
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        await open_tab(pilot, app, "parallel")
        parallel = plot_text(terminal, app, "parallel")
        legend = legend_text(terminal, app)
        assert "parallel coordinates, 30 trials" in parallel[0]
        assert parallel[-1].split() == ["x", "y", "lr", "opt", "value"]  # an axis a param, the value last
        assert "best 10% by value" in legend and "lr 0.0001..1 (log)" in legend and "opt adam|sgd" in legend
        await open_tab(pilot, app, "contour")
        assert "mean value over x and y, 30 trials" in plot_text(terminal, app, "contour")[0]
        assert "(best to worst) c: next param across, C: next param up" in legend_text(terminal, app)
        app._focus_pane("curves")  # as tab does
        await pilot.press("c")  # the next param across
        await pilot.pause(0.6)
        contour = plot_text(terminal, app, "contour")
        assert "over y and x" in contour[0]
        await pilot.press("C", "C")  # up: x, then lr, then opt (categories at their codes)
        await pilot.pause(0.6)
        contour = plot_text(terminal, app, "contour")
        assert "over y and opt" in contour[0]
        assert any(line.split("┤")[0].strip() == "adam" for line in contour if "┤" in line)


@pytest.mark.slow
async def test_two_metrics_leaderboard_puts_the_front_first_with_both_values_and_draws_the_front(tmp_path):
    path = study_file(tmp_path, "two", 30)
    path.write_text(path.read_text().replace("two'}", "two', metric: [f1, f2], direction: [minimize, minimize]}"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        log, board = app.study.log, app.board
        front = {r.number for r in log.front()}

        def top_rows() -> set:
            return {board.get_row_at(i)[0] for i in range(min(len(front), board.row_count))}

        await wait_until(pilot, lambda: top_rows() == front)  # ranked off the event loop, once the last trial is in
        assert [str(c.label) for c in board.columns.values()][:5] == ["#", "status", "rank", "f1", "f2"]
        rows = [board.get_row_at(i) for i in range(board.row_count)]
        assert {row[0] for row in rows[:len(front)]} == front and all(row[2] == 1 for row in rows[:len(front)])
        assert all(row[2] > 1 for row in rows[len(front):])
        for row in rows:
            record = log.records[row[0]]
            assert (float(row[3]), float(row[4])) == pytest.approx(record.values, rel=1e-5)
        best = log.best()
        pick = f"best #{best.number}: f1 {best.values[0]:.6g}, f2 {best.values[1]:.6g}"
        await wait_until(pilot, lambda: pick in terminal.text(app.query_one("#status").region)[0])
        await open_tab(pilot, app, "front")
        assert f"Pareto front of f1 and f2: {len(front)} of 30 trials" in plot_text(terminal, app, "front")[0]
        assert f"the balance's pick #{best.number}" in legend_text(terminal, app)


def many_trials(n, multi=False):
    log = StudyLog(["minimize", "minimize", "minimize"] if multi else "minimize")
    log.header = StudyHeader(metric=["a", "b", "c"] if multi else "value")
    for i in range(n):
        x, y = (i * 0.618) % 1, (i * 0.414) % 1
        log.apply(Started(i, {"x": x, "y": y}, 0))
        values = [x, 1 - x + y, y]
        log.apply(Finished(i, values[0], None, None, values=values if multi else None))
    return log


def figure_text() -> str:
    """The plotext figure as the terminal shows it, colours left out."""
    return re.sub(r"\x1b\[[0-9;]*m", "", plotext.build())


SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1},
                               "y": {"type": "float", "low": 0, "high": 1}})


def test_at_10000_trials_the_plots_draw_a_subsample_and_say_so():
    log = many_trials(10_000)
    plotext.clear_figure()
    plotext.plotsize(100, 30)
    start = time.perf_counter()
    study_plots.draw_parallel(plotext, log.finished(), SPACE, "minimize", "value")
    figure = figure_text()
    assert time.perf_counter() - start < 0.5  # on the UI thread
    assert "parallel coordinates, showing 80 of 10,000" in figure
    plotext.clear_figure()
    study_plots.draw_contour(plotext, log.finished(), SPACE, "x", "y", "minimize", "value")
    assert "a sample of 2,000 of 10,000 trials" in figure_text()


def test_the_front_of_three_metrics_marks_the_pick_and_subsamples_the_dominated():
    log = many_trials(3000, multi=True)
    plotext.clear_figure()
    plotext.plotsize(100, 30)
    legend = study_plots.draw_front(plotext, log, 3000)
    figure = figure_text()
    front = len(log.front())
    assert f"Pareto front of a and b: {front} of 3,000 trials" in figure
    assert f"dominated trials (showing 2,000 of {3000 - front:,})" in " ".join(legend)
    assert any(f"the balance's pick #{log.best().number}" in part for part in legend)
    assert "ranked on all 3 metrics; drawn: the first two" in legend


@pytest.mark.slow
async def test_importance_and_the_pareto_ranking_are_computed_off_the_event_loop(tmp_path, monkeypatch):
    import asyncio

    from tui_tuner.app import session as session_module
    from tui_tuner.app.widgets import curves

    def slowly(compute):
        def run(*args, **kwargs):
            time.sleep(1.5)  # a forest fit or a ranking of 10,000 trials, holding the thread
            return compute(*args, **kwargs)
        return run

    monkeypatch.setattr(curves, "param_importance", slowly(curves.param_importance))
    monkeypatch.setattr(session_module, "ranked", slowly(session_module.ranked))
    path = study_file(tmp_path, "two", 20)
    path.write_text(path.read_text().replace("two'}", "two', metric: [f1, f2]}"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        await open_tab(pilot, app, "importance")
        lags = []
        for _ in range(20):  # the event loop keeps waking on time while both computations run
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append(time.perf_counter() - before - 0.05)
        assert max(lags) < 0.5
        await wait_until(pilot, lambda: "fANOVA, 20 trials" in " ".join(plot_text(terminal, app, "importance")))
        await wait_until(pilot, lambda: app.board.get_row_at(0)[2] == 1)
