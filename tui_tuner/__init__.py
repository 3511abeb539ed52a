"""tui-tuner: hyperparameter tuning in the terminal, and the ask/tell searchers underneath it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tui-tuner")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from .analysis.table import load_study  # noqa: E402
from .errors import InputError, SearchExhausted, SpaceError, TrialPruned, TunerError  # noqa: E402
from .searchers import SEARCHERS, Searcher, make_searcher, register  # noqa: E402
from .space import CategoricalParam, FloatParam, IntParam, SearchSpace  # noqa: E402
from .storage import load_config, save_config  # noqa: E402
from .trial import Trial  # noqa: E402  (Trial.offline(): call your objective outside the tuner)

__all__ = [
    "__version__", "SearchSpace", "FloatParam", "IntParam", "CategoricalParam", "make_searcher", "register",
    "Searcher", "SEARCHERS", "load_config", "save_config", "TrialPruned", "SearchExhausted", "InputError",
    "SpaceError", "TunerError", "Trial", "load_study",
]
