"""`tui-tuner compare`: studies side by side, each read from its directory alone."""

import json

from test_importance import LINEAR, finished, linear, with_every_state, write_study_dir

from tui_tuner.cli import main


def run(capsys, *args):
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_gives_each_studys_best_history_and_importance(tmp_path, capsys):
    a = write_study_dir(tmp_path / "a", with_every_state(finished(LINEAR, linear, 40, seed=0)))
    b = write_study_dir(tmp_path / "b", finished(LINEAR, linear, 12, seed=1))
    code, out, err = run(capsys, a, b, "--json")
    assert code == 0 and err == ""
    studies = json.loads(out)["studies"]
    assert [s["directory"] for s in studies] == [str(a), str(b)]
    first = studies[0]
    values = [r.value for r in finished(LINEAR, linear, 40, seed=0)]
    assert first["best"]["value"] == min(values) and first["best"]["number"] == values.index(min(values))
    assert first["trials"]["finished"] == 40 and first["trials"]["failed"] == 1
    history = [h["best"] for h in first["history"]]
    assert len(history) == 40 and history == sorted(history, reverse=True) and history[-1] == min(values)
    assert list(first["importance"])[0] == "x1"
    assert json.loads(out)["note"] is None


def test_the_table_and_plot_name_each_study_and_say_when_values_do_not_compare(tmp_path, capsys):
    a = write_study_dir(tmp_path / "a", finished(LINEAR, linear, 12))
    b = write_study_dir(tmp_path / "b", finished(LINEAR, linear, 12, seed=3))
    journal = (b / "journal.jsonl").read_text().replace('"direction": "minimize"', '"direction": "maximize"', 1)
    (b / "journal.jsonl").write_text(journal)
    code, out, err = run(capsys, a, b)
    assert code == 0
    assert "studies side by side" in out and "best so far" in out
    assert f"1: {a}" in out and f"2: {b}" in out  # two runs of one study: told apart by directory
    assert "note: the studies optimise different things" in out


def test_a_directory_that_is_not_a_study_is_one_line_and_exit_2(tmp_path, capsys):
    a = write_study_dir(tmp_path / "a", finished(LINEAR, linear, 12))
    code, out, err = run(capsys, a, tmp_path)
    assert code == 2 and err.strip() == f"tui-tuner: {tmp_path}: not a study directory (no journal.jsonl)"
