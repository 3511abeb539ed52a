"""The numpy models: exact gradients, optimizers that descend, schedules that equal their formulas,
early stopping that restores the best weights, and scikit-learn compatibility."""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tui_tuner.models import DivergedError, MLPClassifier, MLPRegressor, SoftmaxRegression, learning_rate_at
from tui_tuner.models import schedules
from tui_tuner.models.network import ACTIVATIONS, Network
from tui_tuner.models.optimizers import OPTIMIZERS, Optimizer


def numeric_grads(net: Network, loss_of, eps=1e-6):
    """Central differences of loss_of() with respect to every parameter of the network."""
    grads = []
    for p in net.params:
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            old = p[index]
            p[index] = old + eps
            up = loss_of()
            p[index] = old - eps
            down = loss_of()
            p[index] = old
            g[index] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_layer_gradient_matches_finite_differences(activation, loss):
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3, 3], activation, loss, rng, dtype=np.float64)
    for b in net.biases:
        b[...] = rng.normal(size=b.shape) * 0.1  # non-zero biases, so their gradients are exercised
    X = rng.normal(size=(7, 4))
    targets = np.eye(3)[rng.integers(0, 3, 7)] if loss == "cross_entropy" else rng.normal(size=(7, 3))
    _, analytic = net.loss_and_grads(X, targets)
    for a, n in zip(analytic, numeric_grads(net, lambda: net.loss(net.predict_raw(X), targets)[0])):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


def test_dropout_gradient_matches_finite_differences_through_the_same_mask():
    net = Network([3, 6, 4, 2], "tanh", "cross_entropy", np.random.default_rng(1), dtype=np.float64)
    X = np.random.default_rng(2).normal(size=(5, 3))
    targets = np.eye(2)[[0, 1, 1, 0, 1]]
    _, analytic = net.loss_and_grads(X, targets, dropout=0.5, rng=np.random.default_rng(3))

    def loss_of():
        out, _ = net.forward(X, 0.5, np.random.default_rng(3))
        return net.loss(out, targets)[0]

    for a, n in zip(analytic, numeric_grads(net, loss_of)):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    net = Network([1, 2], "relu", "cross_entropy", np.random.default_rng(0), dtype=np.float32)
    loss, grad = net.loss(np.array([[1e4, -1e4]], dtype=np.float32), np.array([[0.0, 1.0]], dtype=np.float32))
    assert loss == pytest.approx(2e4, rel=1e-6) and np.all(np.isfinite(grad))


@pytest.fixture(scope="module")
def convex_problem():
    """Softmax regression on separable-ish data, and its optimal loss found by L-BFGS."""
    from scipy.optimize import minimize

    X, y = make_classification(200, 5, n_informative=3, random_state=0)
    targets = np.eye(2)[y]
    net = Network([5, 2], "relu", "cross_entropy", np.random.default_rng(0), dtype=np.float64)

    def loss(theta):
        net.weights[0][...] = theta[:10].reshape(5, 2)
        net.biases[0][...] = theta[10:]
        value, grads = net.loss_and_grads(X, targets)
        return value, np.concatenate([g.ravel() for g in grads])

    optimum = minimize(loss, np.zeros(12), jac=True, method="L-BFGS-B").fun
    return X, targets, optimum


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_lowers_a_convex_loss(name, convex_problem):
    """200 steps of each optimizer close most of the gap between the starting loss and the optimum."""
    X, targets, optimum = convex_problem
    net = Network([5, 2], "relu", "cross_entropy", np.random.default_rng(0), dtype=np.float64)
    opt = Optimizer(name, net.params, [True, False])
    start, _ = net.loss_and_grads(X, targets)
    lr = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.5}.get(name, 0.05)
    for _ in range(200):
        loss, grads = net.loss_and_grads(X, targets)
        opt.step(net.params, grads, lr)
    assert loss - optimum < 0.1 * (start - optimum)


def test_adamw_decays_weights_without_gradient():
    w = np.ones(3)
    opt = Optimizer("adamw", [w], [True], weight_decay=0.1)
    opt.step([w], [np.zeros(3)], lr=0.5)
    np.testing.assert_allclose(w, 0.95)


# ------------------------------------------------------------------------------------------------ schedules

def test_time_based_decay_follows_its_recurrence():
    lr = 0.1
    for e in range(1, 8):
        lr = lr / (1 + 0.2 * e)
        assert learning_rate_at("time_based", e, lr=0.1, epochs=10, decay=0.2) == pytest.approx(lr)


@pytest.mark.parametrize("epoch", [0, 3, 4, 9, 10, 25])
def test_step_decay_formula(epoch):
    expected = 0.1 * 0.5 ** math.floor((epoch + 1 - 2) / 4) if epoch + 1 >= 2 else 0.1
    assert schedules.step(epoch, 0.1, rate=0.5, every=4, start=2) == pytest.approx(expected)


@pytest.mark.parametrize("epoch", [0, 1, 7, 30])
def test_exponential_formulas(epoch):
    assert learning_rate_at("exponential", epoch, lr=0.2, epochs=40, decay=0.1) == pytest.approx(
        0.2 * math.exp(-0.1 * epoch))
    assert learning_rate_at("exponential", epoch, lr=0.2, epochs=40, rate=0.9) == pytest.approx(0.2 * 0.9 ** epoch)


def test_cosine_with_warmup():
    lrs = [schedules.cosine(e, 1.0, epochs=12, warmup=2, min_lr=0.1) for e in range(12)]
    assert lrs[0] == pytest.approx(1 / 3) and lrs[1] == pytest.approx(2 / 3)  # linear warmup
    assert lrs[2] == pytest.approx(1.0)  # the peak right after warmup
    assert lrs[11] == pytest.approx(0.1)  # the floor at the last epoch
    assert lrs[2 + 9 // 2] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 4 / 9)))


def test_cyclic_modes():
    tri = [schedules.cyclic(e, 1.0, 0.0, cycle=2) for e in range(9)]
    assert tri == pytest.approx([1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0])
    tri2 = [schedules.cyclic(e, 1.0, 0.0, cycle=2, mode="triangular2") for e in range(9)]
    assert tri2[0] == pytest.approx(1.0) and tri2[4] == pytest.approx(0.5) and tri2[8] == pytest.approx(0.25)
    exp = [schedules.cyclic(e, 1.0, 0.0, cycle=2, mode="exp_range", gamma=0.9) for e in range(5)]
    assert exp[4] == pytest.approx(0.9 ** 4)


def test_one_cycle_rises_then_anneals():
    lrs = [schedules.one_cycle(e, 1.0, epochs=10, warmup=3) for e in range(10)]
    assert lrs[0] == pytest.approx(1 / 25) and lrs[3] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1e-4)
    assert all(a < b for a, b in zip(lrs[:3], lrs[1:4])) and all(a > b for a, b in zip(lrs[3:], lrs[4:]))


def test_the_model_trains_at_its_schedule():
    X, y = make_classification(100, 4, random_state=0)
    model = MLPClassifier(epochs=6, lr_schedule="step", learning_rate=0.1, lr_rate=0.5, lr_every=2,
                          random_state=0).fit(X, y)
    assert [h["lr"] for h in model.history_] == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025, 0.0125])


# ------------------------------------------------------------------------------------------------ estimators

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:1200], y[:1200], X[1200:], y[1200:]


def test_mlp_learns_digits(digits):
    X, y, X_test, y_test = digits
    model = MLPClassifier(hidden_units=64, epochs=15, random_state=0).fit(X, y)
    assert model.score(X_test, y_test) > 0.9
    assert model.predict_proba(X_test[:3]).sum(axis=1) == pytest.approx(np.ones(3))
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 5


def test_same_seed_same_model(digits):
    X, y, X_test, _ = digits
    a = MLPClassifier(epochs=2, dropout=0.2, random_state=3).fit(X, y).predict_proba(X_test)
    b = MLPClassifier(epochs=2, dropout=0.2, random_state=3).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(a, b)


def test_early_stopping_restores_the_best_weights(digits):
    X, y, X_val, y_val = digits
    seen = []
    model = MLPClassifier(hidden_units=128, learning_rate=0.01, epochs=60, early_stopping=True, patience=4,
                          random_state=0)
    model.fit(X, y, validation=(X_val, y_val), callback=lambda e, m: seen.append(m["val_loss"]))
    assert model.n_epochs_ < 60  # it stopped
    best = int(np.argmin(seen))
    assert model.best_epoch_ == best and model.n_epochs_ == best + 1 + 4
    assert log_loss(y_val, model.predict_proba(X_val)) == pytest.approx(seen[best], rel=1e-4)


def test_fit_reports_each_epoch_to_the_callback(digits):
    X, y, X_val, y_val = digits
    calls = []
    SoftmaxRegression(epochs=3, random_state=0).fit(X, y, validation=(X_val, y_val),
                                                   callback=lambda e, m: calls.append((e, sorted(m))))
    assert calls == [(e, ["loss", "lr", "val_accuracy", "val_loss"]) for e in range(3)]


def test_regressor_fits_a_linear_target():
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    y = y / y.std()
    model = MLPRegressor(hidden_units=32, epochs=60, learning_rate=0.01, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95 and model.predict(X[:4]).shape == (4,)


def test_works_with_clone_pipelines_and_grid_search(digits):
    X, y, _, _ = digits
    model = MLPClassifier(hidden_units=[16, 8], epochs=2)
    assert clone(model).get_params() == model.get_params()
    pipe = make_pipeline(StandardScaler(), SoftmaxRegression(epochs=2, random_state=0))
    search = GridSearchCV(pipe, {"softmaxregression__learning_rate": [1e-3, 1e-2]}, cv=2).fit(X[:300], y[:300])
    assert search.best_params_["softmaxregression__learning_rate"] == 1e-2


def test_bad_param_is_named_like_scikit_learn():
    with pytest.raises(ValueError, match=r"The 'dropout' parameter of MLPClassifier must be a float in the range "
                                         r"\[0, 1\). Got 1.5 instead."):
        MLPClassifier(dropout=1.5).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="'optimizer' parameter .* one of"):
        SoftmaxRegression(optimizer="adamax").fit([[0.0], [1.0]], [0, 1])


def test_a_diverging_run_says_so():
    X, y = make_regression(100, 3, random_state=0)
    with pytest.raises(DivergedError, match="diverged at epoch .* lower the learning rate"):
        MLPRegressor(optimizer="sgd", learning_rate=10.0, epochs=20, random_state=0).fit(X * 100, y * 100)
