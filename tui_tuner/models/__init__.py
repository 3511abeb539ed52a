"""Built-in numpy models, scikit-learn compatible, whose training knobs are all tunable parameters."""

from .mlp import DivergedError, MLPClassifier, MLPRegressor, SoftmaxRegression
from .schedules import SCHEDULES, learning_rate_at

__all__ = ["DivergedError", "MLPClassifier", "MLPRegressor", "SoftmaxRegression", "SCHEDULES", "learning_rate_at"]
