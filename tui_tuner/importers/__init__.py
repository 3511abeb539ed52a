"""Bring your own study: a W&B sweep file as a study file (`wandb`); an Optuna study (`optuna`) or
scikit-learn `cv_results_` (`sklearn`) as a study directory, written through `Study` like any other
(`imported`)."""

from .imported import ImportedStudy, ImportedTrial, write_study_dir
from .optuna import read_optuna
from .sklearn import read_cv_results
from .wandb import read_sweep

__all__ = ["ImportedStudy", "ImportedTrial", "read_cv_results", "read_optuna", "read_sweep", "write_study_dir"]
