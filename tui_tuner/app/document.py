"""The study file being edited in the app: its parsed text, checked edits, and an atomic save.

No Textual here: the app's panes show a `StudyDocument` and ask it for changes; every change is checked
as the loader would check the whole file, so an invalid edit never reaches the engine.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..errors import InputError
from ..outputs import writing
from ..space import SearchSpace
from ..spec import SEARCH_KEYS, SETTINGS, Settings, StudySpec, load_spec, spec_from_dict
from ..study_text import write_study_file

DEMO_STUDY = Path(__file__).resolve().parent.parent / "demo" / "demo.yaml"


class StudyDocument:
    """A study file's content, edited in memory; `spec()` checks it in full, `save()` writes it."""

    def __init__(self, raw: dict, path: Path, base_dir: Path, save_path: Path) -> None:
        self.raw = raw
        self.path = path  # where it was read from
        self.base_dir = base_dir  # where train.py and data files are found
        self.save_path = save_path  # where ctrl+s writes (the demo is copied to the working directory)
        self.dirty = False

    @classmethod
    def load(cls, path: str | Path | None = None, base_dir: Path | None = None) -> "StudyDocument":
        """Read and check a study file (the demo when `path` is None); InputError as the CLI reports it."""
        source = Path(path) if path else DEMO_STUDY
        spec = load_spec(source, base_dir=base_dir)
        save_path = source if path else Path.cwd() / "demo.yaml"
        return cls(copy.deepcopy(spec.raw), source, spec.base_dir, save_path)

    @classmethod
    def from_spec(cls, spec: StudySpec, save_path: Path, settings: Settings | None = None) -> "StudyDocument":
        """The study file as written; with `settings`, its search section as a study runs now (a resume with
        `--trials 400` shows 400, not the file's 30)."""
        raw = copy.deepcopy(spec.raw)
        if settings is not None:
            search = raw.get("search") if isinstance(raw.get("search"), dict) else {}
            if settings.strategy != search.get("strategy", settings.strategy):
                search = {key: value for key, value in search.items() if key in SEARCH_KEYS}
                search.update(strategy=settings.strategy, **settings.strategy_options)
            search.update({key: getattr(settings, key) for key in SETTINGS if getattr(settings, key) is not None})
            if settings.dask is not None:  # a study that ran on dask runs there again, as a resume does
                search["executor"] = {"dask": settings.dask}
            raw["search"] = search
        return cls(raw, spec.path or save_path, spec.base_dir, save_path)

    # ------------------------------------------------------------------------------------------ reading

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.path.stem)

    @property
    def params(self) -> dict[str, dict]:
        return self.raw.setdefault("params", {})

    @property
    def search(self) -> dict:
        if not isinstance(self.raw.get("search"), dict):
            self.raw["search"] = {}
        return self.raw["search"]

    def space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.params)

    def spec(self) -> StudySpec:
        """The whole document checked as the loader checks a file."""
        return spec_from_dict(self.raw, path=self.path, base_dir=self.base_dir, file=str(self.save_path))

    # ------------------------------------------------------------------------------------------ edits

    def checked_params(self, params: dict[str, dict]) -> SearchSpace:
        """The space `params` would make, or the InputError (field `params.<name>.<key>`) saying why not."""
        if not params:
            raise InputError("a study needs at least one parameter", field="params")
        try:
            return SearchSpace.from_dict(params)
        except InputError as err:
            raise err.located(field_prefix="params") from None

    def put_param(self, old_name: str | None, name: str, definition: dict, *, dry_run: bool = False) -> None:
        """Add (`old_name` None) or replace a parameter, keeping its place in the order; checked first.
        With `dry_run` only the check is made (the form calls it on every keystroke)."""
        if name != old_name and name in self.params:
            raise InputError("a parameter of that name exists already", field=f"params.{name}")
        params = {}
        for key, value in copy.deepcopy(self.params).items():
            params[name if key == old_name else key] = definition if key == old_name else value
        if old_name is None:
            params[name] = definition
        elif name != old_name:  # conditions that named the old name follow the rename
            for other in params.values():
                when = other.get("when") if isinstance(other, dict) else None
                if isinstance(when, dict) and old_name in when:
                    when[name] = when.pop(old_name)
        self.checked_params(params)
        if not dry_run:
            self.raw["params"] = params
            self.dirty = True

    def remove_param(self, name: str) -> None:
        params = {k: v for k, v in self.params.items() if k != name}
        self.checked_params(params)
        self.raw["params"] = params
        self.dirty = True

    def set_search(self, settings: dict) -> None:
        """The strategy pane's values (None means unset) become the file's `search:` section."""
        search = {k: v for k, v in settings.items() if v is not None}
        if search != self.search:
            self.raw["search"] = search
            self.dirty = True

    # ------------------------------------------------------------------------------------------ saving

    def save(self) -> Path:
        """Write the document atomically (checked first: an invalid file is never written), laid out like the
        file it was read from: its comments and key order survive the edit. Never through a link, nor over a
        study directory's snapshot (InputError saying why not)."""
        self.spec()
        with writing(self.save_path, None):
            write_study_file(self.save_path, self.raw, like=self.path)
        self.dirty = False
        return self.save_path
