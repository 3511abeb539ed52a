"""`tui-tuner`: the app on a study (or the built-in demo), and `tui-tuner run` for the same study headless.

Every user mistake ends as one line on stderr and exit code 2; anything else the tuner reports is exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

from . import __version__
from .errors import InputError, TunerError
from .options import whole_from_text
from .outputs import check_output, writing
from .searchers import SEARCHERS
from .terminal import safe_text



class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit 2) instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see '{self.prog} --help')", field=None)


def _whole_number(minimum: int):
    """An argparse type: a whole number from `minimum` up, with a message that says which."""
    def parse(text: str) -> int:
        try:
            return whole_from_text(text, minimum)
        except InputError as err:
            raise argparse.ArgumentTypeError(err.message) from None
    return parse


def app_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner",
        description="Tune hyperparameters from the terminal. With no argument, opens the built-in demo study.",
        epilog="Headless: 'tui-tuner run STUDY_FILE' (see 'tui-tuner run --help'). LR range test: "
               "'tui-tuner lr-find STUDY_FILE' (see 'tui-tuner lr-find --help'). A damaged journal: "
               "'tui-tuner repair STUDY_DIR'. Which params mattered: 'tui-tuner analyze STUDY_DIR'. Studies side by "
               "side: 'tui-tuner compare DIR DIR...'. Bring your own study (W&B sweep, Optuna, scikit-learn): "
               "'tui-tuner import --help'.",
    )
    p.add_argument("target", nargs="?", metavar="STUDY_FILE|STUDY_DIR",
                   help="a study file (YAML or JSON) or a study directory to review or resume")
    p.add_argument("--version", action="version", version=f"tui-tuner {__version__}")
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
    p.add_argument("--objective-changed", action="store_true",
                   help="with --resume: go on with STUDY_FILE's objective although it is not the one the study "
                        "ran (another section, folder or code); without it such a resume is refused")
    p.add_argument("--export", metavar="PATH", type=Path, help="also write the best config to PATH (JSON)")
    p.add_argument("--dask", metavar="ADDRESS|local[:N]",
                   help="run the trials on a dask.distributed cluster: a scheduler's address (tcp://HOST:PORT), or "
                        "local:N to start N worker processes here (overrides search.executor; --workers: trials "
                        "at once, default the cluster's threads)")
    return p


def lr_find_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner lr-find",
        description="The LR range test: train with a learning rate rising exponentially from 1e-7 to 10, one "
                    "rate a batch, until the loss explodes; suggest a rate and a range to search.",
        epilog="The config trained is the best trial of the study's newest run under runs/, else the middle "
               "of the search space; --set changes any param. Needs model: mlp or softmax.",
    )
    p.add_argument("study_file", metavar="STUDY_FILE", help="the study file (YAML or JSON)")
    p.add_argument("--steps", type=_whole_number(8), metavar="N",
                   help="batches over which the rate rises (default: one epoch, at least 100)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                   help="a param of the config trained, e.g. --set optimizer=sgd (repeatable)")
    p.add_argument("--write", action="store_true",
                   help="set params.learning_rate in STUDY_FILE to the recommended range, within its current "
                        "bounds (in place, comments kept)")
    p.add_argument("--widen", action="store_true",
                   help="let the recommended range go past learning_rate's current bounds")
    return p


def analyze_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner analyze",
        description="What mattered in a study: each param's share of the value's variance (functional ANOVA "
                    "on a random forest, as Optuna's default), how far it moves the value and where its best "
                    "and worst values lie, and what matters near the best trials. Finished trials only.",
        epilog="Exit codes: 0 done (also when there are too few trials to say: a note says so), "
               "2 not a study directory or a damaged journal, 1 anything else.",
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", type=Path, help="the study directory")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: "importance" {param: share}, "sensitivity", "near_best", '
                        '"main_effects", "trials", "pareto", a "note" when there is one, and with several '
                        'metrics "by_metric" {metric: the same for it}')
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner compare",
        description="Studies side by side: the best trial of each, their best-so-far histories on one plot, "
                    "and each one's param importances.",
        epilog="Exit codes: 0 done, 2 a directory that is not a study or a damaged journal, 1 anything else.",
    )
    p.add_argument("study_dirs", metavar="STUDY_DIR", type=Path, nargs="+", help="two or more study directories")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: "studies", each with its best, history and importance')
    return p


def repair_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner repair",
        description="Move the damaged lines of a study's journal to journal.rejected.jsonl beside it and keep "
                    "every other line, so 'tui-tuner run STUDY_FILE --resume --study STUDY_DIR' works again.",
        epilog="Exit codes: 0 repaired (or nothing to repair), 2 not a study directory or in use, 1 anything else.",
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", type=Path, help="the study directory")
    return p


def trials_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner trials",
        description="Every trial of a study, one row each: number, state, value (value_<metric> for each of "
                    "several metrics), start and end time (ISO 8601, UTC), duration (seconds), params_<name>, "
                    "metric_<name> (every metric the objective returned), seed, pruned_step, fail_reason, "
                    "manual, note: the columns of Optuna's trials_dataframe() where it has them.",
        epilog="Reads the journal only, without its lock: a study another process is writing can be read while "
               "it runs. Exit codes: 0 done, 2 bad input, 1 anything else.",
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", type=Path, help="the study directory")
    p.add_argument("--format", choices=["csv", "json", "jsonl"], default="csv",
                   help="csv (the default; a header line), json (one array) or jsonl (one object a line)")
    p.add_argument("-o", "--output", metavar="PATH", type=Path,
                   help="write the table to PATH (replaced atomically) instead of stdout")
    return p


def import_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-tuner import",
        description="Bring your own study: a W&B sweep file becomes a study file; an Optuna study or a "
                    "scikit-learn cv_results_ becomes a study directory (the app, analyze, trials and "
                    "'run STUDY_FILE --resume --study DIR' work on it, going on with tui-tuner's searchers).",
        epilog="What cannot be carried over is listed on stderr. Exit codes: 0 done, 2 bad input, 1 anything else.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="wandb|optuna|sklearn", required=True)
    wandb = kinds.add_parser("wandb", help="a W&B sweep configuration -> a study file",
                             description="A W&B sweep configuration (YAML) -> a study file with a command objective.")
    wandb.add_argument("sweep", metavar="SWEEP.yaml", type=Path, help="the sweep configuration")
    wandb.add_argument("-o", "--output", metavar="STUDY.yaml", type=Path,
                       help="write the study file there (replaced atomically) instead of stdout")
    optuna = kinds.add_parser("optuna", help="an Optuna study -> a study directory",
                              description="Every trial of an Optuna study -> a new study directory. Needs optuna "
                                          "(pip install 'tui-tuner[optuna]').")
    optuna.add_argument("storage", metavar="STORAGE_URL",
                        help="a database URL like sqlite:///optuna.db, or the path of an Optuna journal file")
    optuna.add_argument("--study-name", required=True, metavar="NAME", help="the Optuna study to import")
    optuna.add_argument("--study", required=True, metavar="DIR", type=Path, help="the new study directory")
    sklearn = kinds.add_parser("sklearn", help="scikit-learn cv_results_ -> a study directory",
                               description="A search's cv_results_ saved as CSV (pandas' to_csv) or JSON -> a new "
                                           "study directory; the space is inferred from the param_ columns.")
    sklearn.add_argument("results", metavar="CV_RESULTS", type=Path, help="the .csv or .json file")
    sklearn.add_argument("--study", required=True, metavar="DIR", type=Path, help="the new study directory")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "run":
            return _run(run_parser().parse_args(argv[1:]))
        if argv and argv[0] == "analyze":
            return _analyze(analyze_parser().parse_args(argv[1:]))
        if argv and argv[0] == "compare":
            return _compare(compare_parser().parse_args(argv[1:]))
        if argv and argv[0] == "repair":
            return _repair(repair_parser().parse_args(argv[1:]))
        if argv and argv[0] == "trials":
            return _trials(trials_parser().parse_args(argv[1:]))
        if argv and argv[0] == "import":
            return _import(import_parser().parse_args(argv[1:]))
        if argv and argv[0] == "lr-find":
            return _lr_find(lr_find_parser().parse_args(argv[1:]))
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
    from .executors import ExecutorLost, check_dask_address, check_dask_scheduler
    from .spec import load_spec
    from .study import Study

    spec = load_spec(args.study_file)
    if args.dask is not None:
        check_dask_address(args.dask, field="--dask")
        check_dask_scheduler(args.dask, field="--dask")
    elif spec.settings.dask and not args.resume:  # a resume runs where its study ran: checked as it opens
        check_dask_scheduler(spec.settings.dask, field="search.executor.dask", file=args.study_file)
    overrides = dict(strategy=args.strategy, trials=args.trials, workers=args.workers, seed=args.seed, dask=args.dask)
    if args.export:
        _check_writable(args.export, "--export", directory=False, study=args.study, source=args.study_file)
    if args.objective_changed and not args.resume:
        raise InputError("goes with --resume (a new study runs the file's objective anyway)",
                         field="--objective-changed")
    if args.resume:
        directory = args.study or Study.latest(spec)
        if directory is None:
            raise InputError("nothing to resume: no study directory of this study under runs/; "
                             "name one with --study", file=args.study_file)
        _check_writable(Path(directory), "--study", directory=True)
        study = Study.for_resume(spec, directory, objective_changed=args.objective_changed, **overrides)
        _print_space_change(study, study.change_space(spec.raw["params"], "study file"), "study file")
    else:
        directory = args.study or Study.default_directory(spec)
        _check_writable(directory, "--study", directory=True)
        study = Study.create(spec, directory, **overrides)

    from .progress import Progress

    lost = None
    with Progress(study) as progress:
        try:
            interrupted = _run_until_done(study)
        except ExecutorLost as err:  # its running trials are recorded interrupted: a resume runs them again
            interrupted, lost = True, err
    progress.print_summary()
    if not interrupted and not study.log.count("finished") and study.log.count("failed"):
        raise TunerError(_no_trial_finished(study.log))
    if args.export:
        with writing(args.export, "--export", study=study.directory):
            path = study.export(args.export)
        print(f"best config written to {path}")
    if interrupted:
        print(safe_text(f"tui-tuner: {lost or 'stopped early'}; continue with: tui-tuner run {args.study_file} "
                        f"--resume --study {study.directory}"), file=sys.stderr)  # the newest of runs/, maybe not ours
        return 1 if lost else 130
    return 0


def _print_space_change(study, changes: list[str], reason: str) -> None:
    """One line a change of the study's space: "space version 2 (study file): learning_rate: low ..."."""
    for line in changes:
        print(safe_text(f"space version {study.log.space_version} ({reason}): {line}"))


def _analyze(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .analysis.compare import read_study
    from .analysis.importance import importance_by_metric
    from .analysis.pareto import pareto_json
    from .progress import front_table, print_importance
    from .storage import dumps

    log, space = read_study(args.study_dir)
    seed = (log.header.settings or {}).get("seed", 0)
    by_metric = importance_by_metric(log.records.values(), space, log.metrics, log.direction, seed=seed)
    if args.json:  # the top level is the first metric's: what the contract's "importance" names
        out = {**next(iter(by_metric.values())).to_json(), "pareto": pareto_json(log)}
        if log.multi:
            out["by_metric"] = {name: result.to_json() for name, result in by_metric.items()}
        print(dumps(out))
        return 0
    for (name, result), direction in zip(by_metric.items(), log.direction if log.multi else [log.direction]):
        print_importance(result, name, direction)
    if log.multi:
        Console().print(front_table(log, log.header.name or "study"))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .analysis.compare import mismatch, summarise
    from .progress import print_comparison
    from .storage import dumps

    summaries = [summarise(directory) for directory in args.study_dirs]
    if args.json:
        print(dumps({"studies": [s.to_json() for s in summaries], "note": mismatch(summaries)}))
    else:
        print_comparison(summaries, mismatch(summaries), color=sys.stdout.isatty())
    return 0


def _repair(args: argparse.Namespace) -> int:
    from .storage import repair_journal

    try:
        repair = repair_journal(args.study_dir)
    except OSError as err:
        raise TunerError(f"{args.study_dir}: cannot repair: {err.strerror or err}; the journal is unchanged") from None
    print(repair.summary())
    return 0


def _trials(args: argparse.Namespace) -> int:
    from .analysis.table import load_study

    if args.output:
        _check_writable(args.output, "-o", directory=False, study=args.study_dir)
    table = load_study(args.study_dir)
    if args.output:
        with writing(args.output, "-o", study=args.study_dir):
            count = table.save(args.output, args.format)
        print(f"{count} trials written to {args.output}")
        return 0
    try:
        table.write(sys.stdout, args.format, screen=sys.stdout.isatty())
        sys.stdout.flush()
    except BrokenPipeError:  # `tui-tuner trials DIR | head`: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _import(args: argparse.Namespace) -> int:
    """A W&B sweep to a study file; an Optuna study or cv_results_ to a study directory. What is not
    carried over goes to stderr, one line each."""
    warnings: list[str] = []
    if args.kind == "wandb":
        from .importers import read_sweep

        if args.output:
            _check_writable(args.output, "-o", directory=False, source=args.sweep)
        text, warnings = read_sweep(args.sweep)
        for line in warnings:
            print(safe_text(f"tui-tuner: {args.sweep}: {line}"), file=sys.stderr)
        if args.output is None:  # a terminal shows the comments carried over, never obeys them
            sys.stdout.write(safe_text(text, lines=True) if sys.stdout.isatty() else text)
            return 0
        from .storage import write_atomic

        with writing(args.output, "-o"):
            write_atomic(args.output, text)
        print(f"study file written to {args.output}; run it with: tui-tuner run {args.output}", file=sys.stderr)
        return 0
    from .importers import read_cv_results, read_optuna, write_study_dir

    _check_writable(args.study, "--study", directory=True)
    if args.kind == "optuna":
        imported, source = read_optuna(args.storage, args.study_name, warnings), args.storage
    else:
        imported, source = read_cv_results(args.results, warnings), str(args.results)
    for line in warnings:
        print(safe_text(f"tui-tuner: {source}: {line}"), file=sys.stderr)
    study = write_study_dir(imported, args.study, source=source)
    counts = ", ".join(f"{study.log.count(state)} {state}" for state in ("finished", "failed", "pruned"))
    print(safe_text(f"{len(imported.trials)} trials imported into {args.study} ({counts}); go on with: tui-tuner "
                    f"run STUDY_FILE --resume --study {args.study} (STUDY_FILE naming your objective, scored on "
                    f"{', '.join(f'{m} ({d})' for m, d in zip(imported.metrics, imported.directions))})"))
    return 0


def _check_writable(path: Path, option: str, *, directory: bool, study: Path | None = None,
                    source: str | Path | None = None) -> None:
    """Refuse a path we could not write (a file where a folder must be, a read-only place, a name too long)
    now, before the study starts, rather than with a traceback after an hour of trials; a file also when it is
    no regular file, one of a study directory's (`study`: the one this command writes) or `source` (the file
    the command reads), a study directory when it is a link (see `outputs`)."""
    def refuse(problem: str) -> None:
        raise InputError(problem, file=str(path), field=option)

    too_long = next((part for part in path.parts if len(os.fsencode(part)) > 255), None)
    if too_long is not None:
        refuse(f"the name {too_long[:20]}... is longer than 255 bytes, the most a file system allows")
    if directory and path.is_symlink():
        refuse(f"is a symlink (to {os.readlink(path)}); name the study directory itself")
    if not directory and not path.is_dir():
        check_output(path, option, study=study, source=source)
    if path.is_dir() != directory and path.exists():
        refuse("is a directory; give the path of a file" if path.is_dir() else "is a file, not a directory")
    where = path if path.is_dir() else path.parent
    while not where.exists() and where != where.parent:
        if where.is_symlink():
            refuse(f"cannot be created: {where} is a symlink that leads nowhere")
        where = where.parent
    if not where.is_dir():
        refuse(f"cannot be created: {where} is a file, not a directory")
    try:
        tempfile.TemporaryFile(dir=where).close()  # the only sure test: root ignores permission bits
    except OSError as err:
        refuse(f"cannot write in {where}: {err.strerror or err}")


def _no_trial_finished(log) -> str:
    """The one line for a study whose every trial failed: how many, and the first reason (usually all of them)."""
    first = min((r for r in log.records.values() if r.state == "failed"), key=lambda r: r.number)
    reason = (first.reason or "no reason recorded").strip().splitlines()[0][:300]
    return f"no trial finished: {log.count('failed')} failed; the first (trial {first.number}): {reason}"


def _lr_find(args: argparse.Namespace) -> int:
    from . import lr_finder
    from .progress import format_params
    from .results import shorten
    from .spec import load_spec, parse_value
    from .storage import StudyLog, read_journal
    from .study import Study

    spec = load_spec(args.study_file)
    lr_finder.check_objective(spec.objective, file=args.study_file)
    if args.write:
        lr_finder.lr_param(spec.space, file=args.study_file)
        check_output(Path(args.study_file), "--write")  # a link is not written through, nor a study's snapshot
    overrides = {}
    for item in args.overrides:
        name, sep, text = item.partition("=")
        if not sep or name not in spec.space:
            raise InputError(f"--set {shorten(item, 60)!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(spec.space.names)}")
        try:
            overrides[name] = spec.space[name].validate(parse_value(text))
        except InputError as err:
            raise InputError(f"--set {name}: {err.message}") from None
    latest = Study.latest(spec)
    best = StudyLog.replay(read_journal(latest / "journal.jsonl"), spec.objective.direction).best() if latest else None
    config = lr_finder.start_config(spec.space, best.params if best else None, overrides)
    source = f"best trial {best.number} of {latest}" if best else "the middle of the search space"
    print(safe_text(f"LR range test of {spec.name} on {source}:"))
    print("  " + format_params(config, limit=len(config)))
    try:
        test = lr_finder.find(spec.objective, config, seed=spec.settings.seed, steps=args.steps)
    except ValueError as err:  # NoRangeFound among them: no suggestion, nothing written
        raise TunerError(f"lr-find: {err}{'; nothing written' if args.write else ''}") from None
    print(lr_finder.plot(test, color=sys.stdout.isatty()))
    ended = "stopped when the loss exploded" if test.exploded else "no explosion up to the top rate"
    print(f"{len(test.rates)} batches, rates {test.rates[0]:.1e} to {test.rates[-1]:.2g} ({ended}); "
          f"lowest loss at {test.lowest_loss_rate:.2g}")
    print(f"suggested learning rate: {test.suggested:.3g}")
    print(f"recommended search range: {test.low:.3g} to {test.high:.3g}")
    current = (spec.raw.get("params") or {}).get(lr_finder.LR_PARAM)
    if not (isinstance(current, dict) and {"low", "high"} <= set(current)):
        print(f"(learning_rate: {{type: float, low: {test.low:.2e}, high: {test.high:.2e}, log: true}})")
        return 0
    try:
        new = lr_finder.narrowed(current, test, widen=args.widen)
    except InputError as err:  # the two ranges do not overlap
        if args.write:
            raise TunerError(f"lr-find: {err.message} (--widen); nothing written") from None
        print(f"{err.message} (--widen)")
        return 0
    bounds = f"{new['low']:.3g} to {new['high']:.3g}"
    if (new["low"], new["high"]) != (float(f"{test.low:.3g}"), float(f"{test.high:.3g}")):
        print(f"within learning_rate's current bounds: {bounds} (--widen to go past them)")
    how = lr_finder.change(current, new)
    if args.write and how == "unchanged":
        print(f"{args.study_file}: params.learning_rate already searches {bounds}; nothing written")
    elif args.write:
        with writing(Path(args.study_file), "--write"):
            lr_finder.narrow_study_file(Path(args.study_file), new)
        print(f"{args.study_file}: params.learning_rate {how}: {float(current['low']):.3g} to "
              f"{float(current['high']):.3g} is now {bounds}")
        if latest is not None:
            _record_lr_find(latest, load_spec(args.study_file).raw["params"])
    return 0


def _record_lr_find(directory: Path, params: dict) -> None:
    """The study of the file narrowed by lr-find goes on with the new range as its next space version; a
    study another process writes keeps its space (its writer's `run --resume` records the file's later)."""
    from .storage import StudyLocked
    from .study import Study

    study = Study.open(directory)
    try:
        changes = study.change_space(params, "lr-find")
    except StudyLocked as err:
        print(safe_text(f"{directory}: not changed ({err}); 'tui-tuner run --resume' records the new range"))
        return
    _print_space_change(study, changes, "lr-find")


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
