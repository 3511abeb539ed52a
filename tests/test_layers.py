"""The core never imports the UI: `tui-tuner run`, the engine and the searchers load without Textual."""

import subprocess
import sys


def test_the_headless_core_does_not_import_textual():
    code = ("import sys, tui_tuner, tui_tuner.cli, tui_tuner.study, tui_tuner.engine, tui_tuner.spec; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext', 'plotext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_app_session_holds_the_study_lifecycle_without_textual():
    code = ("import sys, tui_tuner.app.session; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext', 'plotext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_searchers_do_not_import_the_engine():
    code = ("import sys, tui_tuner.searchers; "
            "print(sorted(m for m in sys.modules if m in ('tui_tuner.engine', 'tui_tuner.executors', 'tui_tuner.study')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
