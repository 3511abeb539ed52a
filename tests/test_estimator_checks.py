"""Our numpy estimators are scikit-learn estimators: `clone`, pipelines and `GridSearchCV` rely on it."""

import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from tui_tuner.models import MLPClassifier, MLPRegressor, SoftmaxRegression

# scikit-learn's fixtures are a few hundred rows: more steps than the defaults (tuned for a study's data) take
# there, so "it learns" is judged on a model given the steps to learn
ESTIMATORS = [MLPClassifier(random_state=0), SoftmaxRegression(epochs=60, random_state=0),
              MLPRegressor(learning_rate=1e-2, random_state=0)]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_predicting_before_fit_says_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        estimator.predict([[0.0, 1.0]])
