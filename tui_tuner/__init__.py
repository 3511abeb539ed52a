"""tui-tuner: hyperparameter tuning in the terminal, and the ask/tell searchers underneath it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tui-tuner")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
