"""`tui-tuner`: the app on a study (or the built-in demo), and `tui-tuner run` for the same study headless.

Every user mistake ends as one line on stderr and exit code 2; anything else the tuner reports is exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from .errors import InputError, TunerError
from .searchers import SEARCHERS



class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit 2) instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see '{self.prog} --help')", field=None)


def _whole_number(minimum: int):
    """An argparse type: a whole number from `minimum` up, with a message that says which."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def app_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner",
        description="Tune hyperparameters from the terminal. With no argument, opens the built-in demo study.",
        epilog="Headless: 'tui-tuner run STUDY_FILE' (see 'tui-tuner run --help').",
    )
    p.add_argument("target", nargs="?", metavar="STUDY_FILE|STUDY_DIR",
                   help="a study file (YAML or JSON) or a study directory to review or resume")
    return p


def run_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner run",
        description="Run a study headless: a progress bar while it runs, a summary table at the end.",
        epilog="Exit codes: 0 done, 2 bad input (usage, study file, config file), 1 anything else.",
    )
    p.add_argument("study_file", metavar="STUDY_FILE", help="the study file (YAML or JSON)")
    p.add_argument("--strategy", choices=sorted(SEARCHERS), help="search strategy (overrides search.strategy)")
    p.add_argument("--trials", type=_whole_number(1), metavar="N", help="trial budget (overrides search.trials)")
    p.add_argument("--workers", type=_whole_number(1), metavar="N",
                   help="worker processes (overrides search.workers; default: CPU count)")
    p.add_argument("--seed", type=_whole_number(0), metavar="N", help="study seed (overrides search.seed)")
    p.add_argument("--study", metavar="DIR", type=Path,
                   help="study directory (default: runs/<name>-<time>; with --resume: the newest one)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study in --study DIR: finished trials are kept, interrupted ones rerun")
    p.add_argument("--export", metavar="PATH", type=Path, help="also write the best config to PATH (JSON)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "run":
            return _run(run_parser().parse_args(argv[1:]))
        return _app(app_parser().parse_args(argv))
    except TunerError as e:
        print(f"tui-tuner: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("tui-tuner: interrupted", file=sys.stderr)
        return 130


def _app(args: argparse.Namespace) -> int:
    from .app import run_app

    target = args.target
    if target is not None and not Path(target).exists():
        raise InputError("no such file or directory", file=target)
    return run_app(target)


def _run(args: argparse.Namespace) -> int:
    from .spec import load_spec
    from .study import Study

    spec = load_spec(args.study_file)
    overrides = dict(strategy=args.strategy, trials=args.trials, workers=args.workers, seed=args.seed)
    if args.resume:
        directory = args.study or Study.latest(spec)
        if directory is None:
            raise InputError("nothing to resume: no study directory of this study under runs/; "
                             "name one with --study", file=args.study_file)
        study = Study.open(directory, **overrides)
    else:
        study = Study.create(spec, args.study, **overrides)

    from .progress import Progress

    with Progress(study) as progress:
        interrupted = _run_until_done(study)
    progress.print_summary()
    if args.export:
        path = study.export(args.export)
        print(f"best config written to {path}")
    if interrupted:
        print(f"tui-tuner: stopped early; continue with: tui-tuner run {args.study_file} --resume "
              f"--study {study.directory}", file=sys.stderr)
        return 130
    return 0


def _run_until_done(study) -> bool:
    """Ctrl+C once stops the study gracefully (running trials finish); twice abandons them. True if pressed."""
    presses = 0

    async def go() -> None:
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                print("\nstopping: running trials finish (Ctrl+C again to abandon them)", file=sys.stderr)
                study.stop()
            else:
                print("abandoning running trials (--resume runs them again)", file=sys.stderr)
                study.cancel()

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await study.run()
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    asyncio.run(go())
    return presses > 0


if __name__ == "__main__":
    sys.exit(main())
