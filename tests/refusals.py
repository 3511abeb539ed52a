"""What a refused `tui-tuner run` must look like: one line, exit 2, nothing written."""

from tui_tuner.cli import main


def refused(tmp_path, capsys, path: str) -> str:
    """The one line `tui-tuner run` printed, having exited 2 and written nothing."""
    code = main(["run", path, "--study", str(tmp_path / "s"), "--export", str(tmp_path / "best.json")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("tui-tuner: "), err
    assert not (tmp_path / "s").exists() and not (tmp_path / "best.json").exists()
    return err.strip()


def short(value) -> str:
    """A test id that fits a line whatever the case holds."""
    return str(value)[:40]
