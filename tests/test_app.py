"""The app through Textual's Pilot, each flow as a user drives it from the keyboard, with a tiny objective."""

import json
import re
import textwrap

import pytest
import yaml

from tui_tuner.app import open_target
from tui_tuner.app.app import TunerApp
from tui_tuner.app.screens.help import HelpScreen
from tui_tuner.app.screens.manual import ManualTrial
from tui_tuner.app.screens.param_form import ParamForm
from tui_tuner.app.screens.prompt import Confirm, PathPrompt
from tui_tuner.app.widgets.curves import Curves
from tui_tuner.app.widgets.leaderboard import Leaderboard
from tui_tuner.app.widgets.space_pane import SpaceTable
from tui_tuner.spec import load_spec
from tui_tuner.records import Failed, Finished, Interrupted, Pruned, Started
from tui_tuner.storage import load_config, read_journal

pytestmark = pytest.mark.slow

TRAIN = '''
import time

from tui_tuner import TrialPruned

def objective(params, trial):
    lr = params["lr"]
    for epoch in range(4):
        time.sleep(params.get("pause", 0.0))
        trial.report(epoch, loss=(lr - 0.1) ** 2 + 1 / (epoch + 1), val_loss=(lr - 0.1) ** 2 + 1.2 / (epoch + 1),
                     lr=lr / (1 + epoch))
        if trial.should_prune():
            raise TrialPruned()
    return {"val_loss": (lr - 0.1) ** 2 + 0.3, "depth": params["depth"]}
'''


def study_file(tmp_path, trials=6, pause=0.0, workers=2):
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: app-test
        objective: {{python: "train.py:objective", metric: val_loss, direction: minimize}}
        search: {{strategy: random, trials: {trials}, workers: {workers}, seed: 0}}
        params:
          lr: {{type: float, low: 0.001, high: 1.0, log: true}}
          depth: {{type: int, low: 1, high: 4}}
          pause: {{type: categorical, choices: [{pause}]}}
        """))
    return path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ and best.json land here


def app_for(target):
    document, study = open_target(str(target))
    return TunerApp(document, study)


async def wait_until(pilot, condition, timeout=30.0):
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("timed out waiting for the app")


async def run_study(pilot, app, *, directory=False):
    await pilot.press("r")
    if directory:  # a study directory opened: the code it names is shown first
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
    await wait_until(pilot, lambda: app.study is not None and not app.session.running)
    await pilot.pause(0.4)  # one flush


async def test_edit_a_parameter_inline_errors_then_save(tmp_path):
    path = study_file(tmp_path)
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(SpaceTable)
        assert table.selected_name == "lr"
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, ParamForm)
        form.query_one("#high").value = "0.0001"  # below low: shown inline, never saved
        await pilot.pause()
        assert "low must be < high" in str(form.query_one("#form-error").render())
        await pilot.press("enter")
        assert app.screen is form
        form.query_one("#high").value = "0.5"
        await pilot.pause()
        await pilot.press("enter")
        assert not isinstance(app.screen, ParamForm)
        assert "0.001 .. 0.5" in str(table.get_row("lr"))
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = yaml.safe_load(path.read_text())
    assert saved["params"]["lr"] == {"type": "float", "low": 0.001, "high": 0.5, "log": True}
    assert load_spec(path).space["lr"].high == 0.5


async def test_add_duplicate_and_delete_parameters(tmp_path):
    app = app_for(study_file(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(SpaceTable)
        await pilot.press("a")
        form = app.screen
        form.query_one("#name").value = "momentum"
        form.query_one("#when").value = "depth: [1, 2]"
        await pilot.pause()
        await pilot.press("enter")
        assert app.document.params["momentum"] == {"type": "float", "low": 0.0, "high": 1.0,
                                                    "when": {"depth": [1, 2]}}
        await pilot.press("d")  # duplicate the selected (new) parameter
        await pilot.pause()
        await pilot.press("enter")
        assert "momentum_2" in app.document.params and table.row_count == 5
        await pilot.press("delete")  # asks first; n keeps it
        assert isinstance(app.screen, Confirm) and "momentum_2" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert "momentum_2" in app.document.params and table.row_count == 5
        await pilot.press("delete", "y")
        await pilot.pause()
        assert "momentum_2" not in app.document.params and table.row_count == 4


async def test_start_a_study_rows_arrive_and_selection_changes_the_curves(tmp_path):
    app = app_for(study_file(tmp_path, trials=6))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        board = app.query_one(Leaderboard)
        assert board.row_count == 6 and app.study.log.count("finished") == 6
        best = app.study.log.best()
        assert board.selected_number == best.number  # best first, selected
        curves = app.query_one(Curves)
        assert curves._selected == best.number
        board.focus()
        await pilot.press("down")
        await pilot.pause(0.8)
        assert app._selected != best.number and curves._selected == app._selected
        assert "best" in app.query_one("#status").render().plain


async def test_a_trial_selected_as_the_app_exits_does_not_crash_it(tmp_path):
    """A leaderboard selection that arrives after the screens are gone once raised ScreenStackError in CI."""
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
    app.on_leaderboard_trial_selected(Leaderboard.TrialSelected(-1))


async def test_a_flush_due_as_the_app_exits_does_not_crash_it(tmp_path):
    """The flush timer ticked once after the screens were gone and raised IndexError in CI."""
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
    app.flush()


async def test_manual_trial_and_rerun(tmp_path):
    app = app_for(study_file(tmp_path, trials=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        await pilot.press("m")
        form = app.screen
        assert isinstance(form, ManualTrial)
        form.query_one("#manual-lr").value = "0.1"
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.study.log.records) == 4 and not app.session.running)
        manual = app.study.log.records[3]
        assert manual.manual and manual.params["lr"] == 0.1 and manual.state == "finished"
        first = app.study.log.records[0]
        app._selected = 0
        await pilot.press("x")
        await wait_until(pilot, lambda: len(app.study.log.records) == 5 and not app.session.running)
        again = app.study.log.records[4]
        assert again.params == first.params and again.seed == first.seed


async def test_pause_and_stop(tmp_path):
    app = app_for(study_file(tmp_path, trials=40, pause=0.1, workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.state == "running")
        await pilot.press("p")
        await wait_until(pilot, lambda: app.study.engine.state == "paused")
        await pilot.pause(1.0)
        await wait_until(pilot, lambda: not app.study.engine.running)
        held = len(app.study.log.records)
        await pilot.pause(0.6)
        assert len(app.study.log.records) == held  # paused: nothing new started
        await pilot.press("p")
        await wait_until(pilot, lambda: len(app.study.log.records) > held)
        await pilot.press("s")
        await wait_until(pilot, lambda: not app.session.running)
        log = app.study.log
        assert len(log.records) < 40 and log.count("running") == 0 and log.count("interrupted") == 0


class Terminal:
    """The screen as the user's terminal shows it: fed only what the app sends out (its compositor
    updates), so a widget that changed but never repainted shows its old text here, as it would to a user."""

    ESCAPE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07]*\x07|\x1b[^\[\]]")

    def __init__(self, app) -> None:
        self.lines = [[" "] * app.size.width for _ in range(app.size.height)]
        self.x = self.y = 0
        display = app._display

        def tee(screen, renderable) -> None:
            if hasattr(renderable, "render_segments"):
                self.feed(renderable.render_segments(app.console))
            display(screen, renderable)
        app._display = tee

    def feed(self, data: str) -> None:
        position = 0
        for match in self.ESCAPE.finditer(data):
            self._put(data[position:match.start()])
            if match.group(2) == "H":
                row, _, column = (match.group(1) or "1;1").partition(";")
                self.y, self.x = int(row or 1) - 1, int(column or 1) - 1
            position = match.end()
        self._put(data[position:])

    def _put(self, text: str) -> None:
        for char in text:
            if char == "\n":
                self.y, self.x = self.y + 1, 0
            elif 0 <= self.y < len(self.lines) and 0 <= self.x < len(self.lines[0]):
                self.lines[self.y][self.x] = char
                self.x += 1

    def text(self, region) -> list[str]:
        return ["".join(self.lines[y][region.x:region.right]) for y in range(region.y, region.bottom)]


def board_rows_on_screen(app, terminal: Terminal) -> dict[int, str]:
    """Trial number -> the first word of its status, as the terminal shows the leaderboard's rows."""
    rows = {}
    for line in terminal.text(app.board.content_region)[1:]:  # below the header
        match = re.match(r"\s*(\d+)\s+(\w+)", line)
        if match:
            rows[int(match.group(1))] = match.group(2)
    return rows


def assert_screen_matches_journal(app, terminal: Terminal) -> None:
    words = {Started: "running", Finished: "done", Failed: "failed", Pruned: "pruned", Interrupted: "interrupted"}
    journal = {}
    for record in read_journal(app.study.directory / "journal.jsonl"):
        if type(record) in words:
            journal[record.number] = words[type(record)]
    shown = board_rows_on_screen(app, terminal)
    assert shown, "no leaderboard rows on screen"
    assert shown == {n: journal[n] for n in shown}


async def test_the_leaderboard_on_screen_matches_the_journal_after_finish_pause_and_stop(tmp_path):
    path = study_file(tmp_path, trials=30, pause=0.05, workers=2)
    path.write_text(path.read_text() + "pruner: {name: median, warmup: 1, min_trials: 2}\n")
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.log.count("finished") >= 2)
        await pilot.press("p")  # paused: the running trials end, none starts
        await wait_until(pilot, lambda: app.study.engine.state == "paused" and not app.study.engine.running)
        await pilot.pause(0.6)
        assert_screen_matches_journal(app, terminal)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.study.log.count("running") == 2)
        await pilot.press("s")  # stopped: the running trials finish
        await wait_until(pilot, lambda: not app.session.running)
        await pilot.pause(0.6)
        assert_screen_matches_journal(app, terminal)
        app.query_one("#field-trials").value = "34"
        await pilot.pause()
        await run_study(pilot, app)  # resumed to the end of its budget
        assert_screen_matches_journal(app, terminal)
        assert app.study.log.count("pruned") and "running" not in board_rows_on_screen(app, terminal).values()


def test_our_widgets_never_overwrite_textual_attributes():
    """The leaderboard once kept its running trials in `_running`, Textual's flag of a live message pump:
    with no trial running, the widget stopped repainting and the screen kept showing finished trials as
    running. No widget, screen or app class of ours may assign an attribute its Textual base already holds."""
    import importlib
    import inspect
    import pkgutil

    import tui_tuner.app.screens
    import tui_tuner.app.widgets
    from textual.dom import DOMNode

    modules = [importlib.import_module(f"{package.__name__}.{info.name}")
               for package in (tui_tuner.app.widgets, tui_tuner.app.screens)
               for info in pkgutil.iter_modules(package.__path__)]
    classes = [cls for module in modules for cls in vars(module).values()
               if inspect.isclass(cls) and issubclass(cls, DOMNode) and cls.__module__ == module.__name__]
    deliberate = {"RowTable": {"_row_locations"}}  # remove_rows renumbers the rows as DataTable.remove_row does
    for cls in [*classes, TunerApp]:
        base = next(b for b in cls.__mro__ if b.__module__.startswith("textual."))
        assigned = set(re.findall(r"self\.(\w+)(?:\s*:[^=\n]*)?\s*=(?!=)", inspect.getsource(cls)))
        overwritten = assigned & set(vars(base())) - deliberate.get(cls.__name__, set())
        assert not overwritten, f"{cls.__name__} overwrites {base.__name__}'s attributes {overwritten}"


def status_line(app) -> str:
    return app.query_one("#status").render().plain


async def test_a_finished_study_stops_its_clock_reopens_finished_and_r_adds_trials(tmp_path):
    app = app_for(study_file(tmp_path, trials=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        first = status_line(app)
        assert " finished " in first and "3/3" in first
        await pilot.pause(1.2)
        assert status_line(app) == first  # the clock stopped with the study
        directory = app.study.directory
    reopened = app_for(tmp_path / directory)
    async with reopened.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.4)
        assert " finished " in status_line(reopened) and "3/3" in status_line(reopened)
        await pilot.press("r", "y")  # the code it runs shown first; the budget is spent: asks how many more
        prompt = reopened.screen
        assert isinstance(prompt, PathPrompt) and "how many more" in prompt.title_text
        prompt.query_one("#path").value = "a"
        await pilot.press("enter")
        await pilot.pause()
        assert reopened.screen is prompt and "whole number" in str(prompt.query_one("#form-error").render())
        prompt.query_one("#path").value = "2"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(reopened.study.log.records) == 5 and not reopened.session.running)
        await pilot.pause(0.4)
        assert len(reopened.study.log.records) == 5 and "5/5" in status_line(reopened)
        assert reopened.query_one("#field-trials").value == "5"


async def test_the_header_keeps_what_fits_when_the_terminal_narrows(tmp_path):
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        assert "ask " in status_line(app)  # the timing fits at 120 columns
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.4)
        line = status_line(app)
        assert len(line) <= 78 and "2/2" in line and "best val_loss 0.3" in line


async def test_the_header_keeps_the_gp_note_on_a_narrow_line(tmp_path):
    path = bayes_study_file(tmp_path, trials=23)
    path.write_text(path.read_text().replace("initial: 2", "initial: 2, max_points: 20"))
    app = app_for(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_study(pilot, app)
        line = status_line(app)
        assert re.search(r"GP on 20 of 2\d", line) and len(line) <= 98, line


async def test_a_stopped_study_says_stopped_and_manual_trials_never_count_past_the_budget(tmp_path):
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        await pilot.press("m")
        await pilot.press("enter")  # a manual trial beyond the 2 the budget holds
        await wait_until(pilot, lambda: len(app.study.log.records) == 3 and not app.session.running)
        await pilot.pause(0.4)
        assert "2/2" in status_line(app) and "+1 manual" in status_line(app) and " finished " in status_line(app)
    app = app_for(study_file(tmp_path, trials=40, pause=0.1, workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.log.count("finished") >= 1)
        await pilot.press("s")
        await wait_until(pilot, lambda: not app.session.running)
        await pilot.pause(0.4)
        assert " stopped " in status_line(app) and "/40" in status_line(app)


async def test_curves_put_scores_and_losses_on_their_own_labelled_axes(tmp_path):
    (tmp_path / "curves.py").write_text(
        "def objective(params, trial):\n"
        "    for epoch in range(3):\n"
        "        trial.report(epoch, accuracy=0.5 + 0.1 * epoch, loss=10.0 / 30 ** epoch, val_loss=12.0 / 25 ** epoch)\n"
        "    return {'accuracy': 0.7}\n")
    path = tmp_path / "curves.yaml"
    path.write_text("objective: {python: 'curves.py:objective', metric: accuracy, direction: maximize}\n"
                    "search: {strategy: random, trials: 1, workers: 1}\nparams: {x: {type: float, low: 0, high: 1}}\n")
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = Terminal(app)
        await run_study(pilot, app)
        await pilot.pause(0.6)
        plot = terminal.text(app.query_one("#plot-curves").region)
        legend = " ".join(terminal.text(app.query_one("#curve-legend").region))
    frame = [line for line in plot if "┤" in line or "│" in line]
    assert frame and not any("accuracy" in line or "loss" in line for line in frame)  # no legend on the data
    assert "#0 accuracy" in legend and "#0 loss" in legend and "#0 val_loss" in legend
    assert plot[-1].split()[0] == "accuracy" and plot[-1].split()[-2:] == ["loss", "(log)"]  # y axes labelled
    assert plot[-2].split() == ["0", "1", "2"]  # whole epochs
    right_ticks = [line.rsplit("├", 1)[1].strip() for line in frame if "├" in line]
    assert right_ticks == ["10", "1", "0.1"]  # the losses span decades: a log axis of their own, ticks at decades
    left_ticks = [float(line.split("┤")[0]) for line in frame if "┤" in line]
    assert min(left_ticks) == 0.5 and max(left_ticks) == 0.7  # accuracy keeps its own linear axis


async def test_app_keys_typed_into_a_number_field_neither_run_nor_become_garbage(tmp_path):
    app = app_for(study_file(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        field = app.query_one("#field-trials")
        field.focus()
        field.value = ""
        await pilot.press("r", "a", "p", "5")
        await pilot.pause(0.3)
        assert field.value == "5" and app.study is None and not app.session.running
        error = app.query_one("#strategy-error")
        assert not error.display or "must be" not in str(error.render())


async def test_the_strategy_error_and_the_curves_go_with_the_study_they_were_about(tmp_path):
    path = study_file(tmp_path, trials=2)
    other = tmp_path / "other.yaml"
    other.write_text(path.read_text().replace("name: app-test", "name: other"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        await pilot.pause(0.6)
        assert "#" in str(app.query_one("#curve-legend").render())
        app.query_one("#field-trials").value = "0"
        await pilot.pause(0.2)
        error = app.query_one("#strategy-error")
        assert "search.trials" in str(error.render())
        await pilot.press("o")
        app.screen.query_one("#path").value = str(other)
        await pilot.press("enter")
        await pilot.pause(0.6)
        assert app.document.name == "other" and app.study is None
        assert not error.has_class("-visible")  # the error was about the other file
        assert str(app.query_one("#curve-legend").render()) == ""  # the previous study's curves are gone


async def test_the_strategy_pane_draws_options_from_their_declaration_and_words_mistakes_as_the_cli(tmp_path):
    from textual.widgets import Select

    from tui_tuner.searchers import GeneticSearcher

    path = study_file(tmp_path)
    path.write_text(path.read_text().replace("strategy: random", "strategy: genetic"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        declared = GeneticSearcher.options
        population = app.query_one("#option-population")
        assert population.placeholder == "auto" and population.tooltip == declared["population"].help
        population.focus()
        await pilot.pause(0.2)
        hint = app.query_one("#strategy-hint")
        assert hint.display and str(hint.render()) == declared["population"].help  # a hint without a mouse
        crossover = app.query_one("#option-crossover", Select)  # a choice is a list of the declared choices
        assert [str(prompt) for prompt, _ in crossover._options[1:]] == ["uniform", "blend"]
        population.value = "1"
        await pilot.pause(0.3)
        error = str(app.query_one("#strategy-error").render())
        assert error == "search.population: must be a whole number, at least 2, got 1"  # as the CLI says it
        population.value = ""
        crossover.focus()
        await pilot.press("enter", "down", "enter")  # open the list, the first choice, take it
        await pilot.pause(0.3)
        assert str(hint.render()) == declared["crossover"].help and crossover.value == "uniform"
        assert not app.query_one("#strategy-error").display
        assert app.document.spec().settings.strategy_options == {"crossover": "uniform"}


async def test_n_keeps_a_note_on_the_selected_trial_in_the_journal(tmp_path):
    from tui_tuner import load_study
    from tui_tuner.app.screens.trial_detail import TrialDetail

    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        app.board.focus()
        number = app.board.selected_number
        await pilot.press("n")
        await pilot.press(*"too slow", "enter")
        await pilot.pause(0.2)
        assert any(f"note on trial #{number} kept" in n.message for n in app._notifications)
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetail)
        assert "note     too slow" in str(app.screen.query_one("#trial-lines").render())
        directory = app.study.directory
    rows = {row.number: row for row in load_study(directory).trials}
    assert rows[number].note == "too slow"


async def test_enter_on_a_leaderboard_row_shows_the_trial_in_full(tmp_path):
    from tui_tuner.app.screens.trial_detail import TrialDetail

    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        app.board.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetail)
        record = app.study.log.records[app.board.selected_number]
        text = str(app.screen.query_one("#trial-lines").render())
        for name, value in record.params.items():
            assert f"{name} = " in text
        assert f"seed     {record.seed}" in text and "duration" in text and "val_loss" in text and "depth" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, TrialDetail)


async def test_keys_on_the_leaderboard_before_any_trial_do_nothing(tmp_path):
    """Up, enter and down on the empty board posted a highlight with no row, and the app died on it."""
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        app.board.focus()
        await pilot.press("up", "enter", "down")
        await pilot.pause(0.3)
        assert app.is_running and app.board.selected_number is None
        await run_study(pilot, app)
        assert app.board.row_count == 2


async def test_footer_keeps_help_and_quit_at_80_columns_and_forms_show_no_python_reprs(tmp_path):
    path = bayes_study_file(tmp_path, trials=2)
    path.write_text(path.read_text().replace(", initial: 2", "") +
                    "  momentum: {type: float, low: 0.0, high: 0.9, when: {depth: [1, 2]}}\n")
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        from textual.widgets._footer import FooterKey

        shown = {key.description for key in app.query(FooterKey) if 0 < key.region.right <= app.size.width}
        assert {"help", "quit"} <= shown
        assert app.query_one("#option-initial").placeholder == "auto"
        await pilot.press("m")
        hints = " ".join(str(label.render()) for label in app.screen.query(".dialog-hint, Input"))
        placeholders = " ".join(i.placeholder for i in app.screen.query("Input"))
        assert "when depth = 1 or 2" in placeholders + hints and "{" not in placeholders


async def test_export_writes_best_json(tmp_path):
    app = app_for(study_file(tmp_path, trials=4))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        await pilot.press("e")
        assert isinstance(app.screen, PathPrompt)
        await pilot.press("enter")  # the default ./best.json
        await pilot.pause()
        best = app.study.log.best()
    exported = load_config(tmp_path / "best.json")
    assert exported["params"] == best.params and exported["value"] == best.value
    assert exported["metric"] == "val_loss" and exported["direction"] == "minimize"


async def test_help_screen_lists_the_keys(tmp_path):
    app = app_for(study_file(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = [tuple(map(str, app.screen.query_one("#help-table").get_row_at(i)))
                for i in range(app.screen.query_one("#help-table").row_count)]
        keys = {key for _, key, _ in rows}
        assert {"r", "p", "s", "m", "e", "o", "?", "q", "x", "ctrl+s", "a", "enter", "d"} <= keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_open_a_study_directory_to_review_and_resume(tmp_path):
    app = app_for(study_file(tmp_path, trials=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        directory = app.study.directory
    reopened = app_for(tmp_path / directory)
    async with reopened.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.4)
        assert reopened.query_one(Leaderboard).row_count == 3
        reopened.query_one("#field-trials").value = "5"  # a bigger budget, then resume
        await pilot.pause()
        await run_study(pilot, reopened, directory=True)
        assert reopened.study.directory.resolve() == directory.resolve() and len(reopened.study.log.records) == 5


async def test_a_broken_study_file_opened_from_the_app_shows_the_cli_error(tmp_path):
    path = study_file(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text(path.read_text().replace("metric: val_loss", "metric: [val_loss"))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        prompt = app.screen
        prompt.query_one("#path").value = str(broken)
        await pilot.press("enter")
        await pilot.pause()
        error = str(prompt.query_one("#form-error").render())
        assert app.screen is prompt and str(broken) in error and "not valid YAML" in error
        prompt.query_one("#path").value = str(path)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PathPrompt)


async def test_quitting_while_trials_run_asks_then_records_them_interrupted(tmp_path):
    app = app_for(study_file(tmp_path, trials=10, pause=2.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.log.count("running") == 2)
        await pilot.press("q")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert app.session.running
        await pilot.press("q")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.session.running)
    journal = read_journal(app.study.directory / "journal.jsonl")
    assert sum(1 for e in journal if isinstance(e, Interrupted)) == 2


async def test_small_terminal_shows_one_pane_at_a_time(tmp_path):
    app = app_for(study_file(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        visible = [p for p in ("space", "strategy", "board", "curves") if app.query_one(f"#{p}").display
                   and app.query_one(f"#{p}").region.area]
        assert visible == ["space"]
        await pilot.press("tab")
        await pilot.pause()
        visible = [p for p in ("space", "strategy", "board", "curves") if app.query_one(f"#{p}").region.area]
        assert visible == ["strategy"]
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert [p for p in ("space", "strategy", "board", "curves") if app.query_one(f"#{p}").region.area] == [
            "curves"]


async def test_best_config_files_open_into_the_manual_form(tmp_path):
    path = study_file(tmp_path)
    (tmp_path / "best.json").write_text(json.dumps({"params": {"lr": 0.2, "depth": 2, "pause": 0.0},
                                                    "value": 0.3, "metric": "val_loss", "direction": "minimize"}))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        app.screen.query_one("#path").value = str(tmp_path / "best.json")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ManualTrial)
        assert app.screen.query_one("#manual-lr").value == "0.2"


async def test_lr_finder_runs_in_a_worker_and_applies_its_range(tmp_path):
    from tui_tuner.app.screens.lr_finder import LrFinderScreen

    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: softmax, dataset: iris}\nparams:\n"
                    "  learning_rate: {type: float, low: 1.0e-6, high: 10.0, log: true}\n"
                    "  optimizer: {type: categorical, choices: [adam]}\n")
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LrFinderScreen))
        summary = str(app.screen.query_one("#lr-summary").render())
        assert "suggested learning rate" in summary
        test = app.screen.test
        await pilot.press("a")
        await pilot.pause(0.2)
        assert app.document.params["learning_rate"]["low"] == pytest.approx(test.low, rel=1e-2)
        assert app.document.params["learning_rate"]["high"] == pytest.approx(test.high, rel=1e-2)


async def test_lr_finder_keeps_the_range_within_the_bounds_unless_the_user_widens(tmp_path):
    from tui_tuner.app.screens.lr_finder import LrFinderScreen

    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: softmax, dataset: iris}\nparams:\n"
                    "  learning_rate: {type: float, low: 1.0e-6, high: 0.1, log: true}\n"
                    "  optimizer: {type: categorical, choices: [adam]}\n")
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        for key, bounds in (("a", "within"), ("w", "past")):
            await pilot.press("l")
            await wait_until(pilot, lambda: isinstance(app.screen, LrFinderScreen))
            test = app.screen.test
            assert 1e-6 < test.low < 0.1 < test.high  # the range reaches past the bounds: both choices offered
            await pilot.press(key)
            await pilot.pause(0.2)
            lr = app.document.params["learning_rate"]
            if bounds == "within":
                assert lr["high"] == pytest.approx(0.1) and lr["low"] == pytest.approx(test.low, rel=1e-2)
                assert any("narrowed" in n.message for n in app._notifications)
            else:
                assert lr["high"] == pytest.approx(test.high, rel=1e-2)


async def test_lr_finder_explains_what_it_needs(tmp_path):
    app = app_for(study_file(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        await pilot.pause(0.2)
        assert any("needs a built-in model" in n.message for n in app._notifications)


def bayes_study_file(tmp_path, trials):
    path = study_file(tmp_path, trials=trials, workers=1)
    text = path.read_text().replace("strategy: random", "strategy: bayes, initial: 2")
    path.write_text(text)
    return path


async def test_review_mode_holds_each_suggestion_until_run_edited_or_skipped(tmp_path):
    from tui_tuner.app.screens.review import ReviewSuggestion

    app = app_for(bayes_study_file(tmp_path, trials=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("R", "r")
        shown = []
        for key in ("enter", "x", "R"):  # run the first, skip the second, run the third and end review mode
            await wait_until(pilot, lambda: isinstance(app.screen, ReviewSuggestion) and app.screen not in shown)
            shown.append(app.screen)
            await pilot.press(key)
        await wait_until(pilot, lambda: not app.session.running)
        started = [e for e in read_journal(app.study.directory / "journal.jsonl") if isinstance(e, Started)]
        assert len(started) == 3 and len(shown) == 3  # the skipped one spent no budget; the last ran unreviewed
        assert started[0].params == shown[0].params and started[1].params == shown[2].params
        assert not app.review_mode


async def test_manual_form_predicts_the_config_being_edited(tmp_path):
    app = app_for(bayes_study_file(tmp_path, trials=5))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ManualTrial))
        line = app.screen.query_one("#prediction")
        first = str(line.render())
        assert first.startswith("predicted val_loss: ")
        app.screen.query_one("#manual-lr").value = "0.9"
        await pilot.pause(0.2)
        assert str(line.render()) != first and "±" in str(line.render())
        app.screen.query_one("#manual-lr").value = "7"  # out of range: no prediction for an invalid config
        await pilot.pause(0.2)
        assert str(line.render()) == ""
        rows = [str(app.board.get_row_at(i)[2]) for i in range(app.board.row_count)]
        assert any("±" in r for r in rows)  # suggestions show what the model predicted


async def test_escape_in_a_strategy_field_gives_the_app_its_keys_back(tmp_path):
    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        app._focus_pane("strategy")
        await pilot.press("r")  # typed into the field (a letter a number field refuses), not a run
        await pilot.pause(0.2)
        assert app.study is None
        await pilot.press("escape")
        assert app.focused is app.board
        await run_study(pilot, app)  # r runs the study again
        assert app.study.log.count("finished") == 2


async def test_an_edited_space_goes_on_as_the_next_version_and_h_shows_the_history(tmp_path):
    from tui_tuner.app.screens.space_history import SpaceHistory
    from tui_tuner.app.screens.trial_detail import TrialDetail

    app = app_for(study_file(tmp_path, trials=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_study(pilot, app)
        first = app.study
        app.query_one(SpaceTable).focus()
        await pilot.press("enter")  # edit lr, the selected param
        app.screen.query_one("#high").value = "0.5"
        await pilot.pause()
        await pilot.press("enter")
        app.query_one("#field-trials").value = "4"
        await pilot.pause()
        await run_study(pilot, app)
        assert app.study is first and len(first.log.records) == 4  # the same study, not a new one
        assert any(n.message == "space version 2: lr: high 1 -> 0.5" for n in app._notifications)
        assert [r.space_version for r in sorted(first.log.records.values(), key=lambda r: r.number)] == [1, 1, 2, 2]
        assert all(r.params["lr"] <= 0.5 for r in first.log.records.values() if r.space_version == 2)

        app.board.focus()
        await pilot.press("h")
        assert isinstance(app.screen, SpaceHistory)
        text = str(app.screen.query_one("#space-lines").render())
        assert "version 1" in text and "created  2 trials" in text
        assert "version 2" in text and "edit  2 trials" in text and "lr: high 1 -> 0.5" in text
        await pilot.press("escape")
        app.board.focus()
        selected = first.log.records[app.board.selected_number]
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetail)
        assert f"space    version {selected.space_version}" in str(app.screen.query_one("#trial-lines").render())


async def test_an_edit_while_the_study_runs_applies_to_it_at_once(tmp_path):
    app = app_for(study_file(tmp_path, trials=8, pause=0.1, workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.log.count("finished") >= 1)
        app.query_one(SpaceTable).focus()
        await pilot.press("enter")
        app.screen.query_one("#high").value = "0.5"
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(n.message == "space version 2: lr: high 1 -> 0.5"
                                            for n in app._notifications))
        await wait_until(pilot, lambda: not app.session.running)
        later = [r for r in app.study.log.records.values() if r.space_version == 2]
        assert later and all(r.params["lr"] <= 0.5 for r in later) and len(app.study.log.records) == 8


async def test_the_executor_field_runs_the_study_on_a_dask_cluster_and_words_mistakes_as_the_cli(tmp_path):
    pytest.importorskip("distributed")
    app = app_for(study_file(tmp_path, trials=2, workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        field = app.query_one("#field-executor")
        assert field.placeholder == "pool"
        field.value = "local:x"
        await pilot.pause(0.3)
        assert str(app.query_one("#strategy-error").render()).startswith(
            "search.executor.dask: must be local, local:N (N worker processes on this machine)")
        field.value = "local:1"
        await pilot.pause(0.3)
        assert not app.query_one("#strategy-error").display
        assert app.document.spec().settings.dask == "local:1"
        await pilot.press("escape")
        await pilot.press("r")
        await wait_until(pilot, lambda: app.study is not None and app.study.log.count("finished") == 2, timeout=60)
        assert app.study.settings.dask == "local:1"
