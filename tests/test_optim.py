"""Every optimizer and option against torch.optim step for step; clipping against torch's
utilities; schedules against torch's lr_scheduler; state_dict; call counts; validation."""

import json

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import optim
from mlplab import schedules as S
from mlplab.errors import ArgumentError

SIZES = [5, 8, 6, 3]
torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a shared machine


@pytest.fixture
def torch_f64():
    """torch keeps scalar optimizer state (NAdam's mu_product, step) in the default dtype;
    float64 there makes torch's arithmetic that of mlplab's Python floats."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def data(n=32, seed=0):
    """A learnable 3-class task: noisy argmax of a random linear map."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, SIZES[0]))
    y = np.argmax(X @ rng.normal(size=(SIZES[0], SIZES[-1])) + 0.5 * rng.normal(size=(n, SIZES[-1])), axis=1)
    return X, y


def make_pair(dtype="float64", seed=1, sizes=SIZES):
    """An mlplab MLP and a torch nn.Sequential with the same weights (torch weight = W.T)."""
    model = ml.MLP(sizes, activation="tanh", output="softmax", dtype=dtype, seed=seed)
    tdt = torch.float64 if dtype == "float64" else torch.float32
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=tdt))
        if i < len(sizes) - 2:
            mods.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*mods)
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for d, m in zip(dense, lin):
            m.weight.copy_(torch.from_numpy(d.W.T.copy()))
            m.bias.copy_(torch.from_numpy(d.b.copy()))
    return model, net


def torch_params(net):
    """The torch parameters in mlplab's layout [W1, b1, W2, b2, ...] (W = weight.T)."""
    out = []
    for m in net:
        if isinstance(m, torch.nn.Linear):
            out += [m.weight.detach().numpy().T, m.bias.detach().numpy()]
    return out


def assert_params_close(model, net, rtol):
    for i, (a, b) in enumerate(zip(model.params(), torch_params(net))):
        scale = np.abs(b).max()
        err = np.abs(a - b).max() / scale
        assert err <= rtol, f"parameter {i}: relative difference {err:.3g} > {rtol}"


def run_pair(make_mine, make_torch, steps, dtype="float64", X=None, y=None, torch_step_hook=None):
    if X is None:
        X, y = data()
    model, net = make_pair(dtype)
    opt = make_mine()
    topt = make_torch(net.parameters())
    Xt, yt = torch.from_numpy(X.astype(dtype)), torch.from_numpy(y)
    lossf = torch.nn.CrossEntropyLoss()
    for _ in range(steps):
        model.loss_and_grad(X, y)
        opt.step(model)
        topt.zero_grad()
        lossf(net(Xt), yt).backward()
        if torch_step_hook is not None:
            torch_step_hook(net)
        topt.step()
    return model, net, opt


# (id, mlplab factory, torch factory); same arguments on both sides. Learning rates stay where
# the full-batch dynamics are stable: an adaptive rule near an L2 equilibrium (g + wd theta -> 0,
# with v decaying) takes sign-like steps that amplify rounding-level differences ~3x per step,
# so any two correct implementations part after a few dozen steps there.
CASES = [
    ("sgd", lambda: optim.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd-wd", lambda: optim.SGD(lr=0.1, weight_decay=0.05), lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    ("sgd-momentum", lambda: optim.SGD(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (
        "sgd-momentum-dampening",
        lambda: optim.SGD(lr=0.05, momentum=0.8, dampening=0.3),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3),
    ),
    (
        "sgd-nesterov",
        lambda: optim.SGD(lr=0.05, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    (
        "sgd-nesterov-wd",
        lambda: optim.SGD(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.01),
    ),
    (
        "sgd-momentum-dampening-wd",
        lambda: optim.SGD(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.02),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.02),
    ),
    ("adagrad", lambda: optim.Adagrad(lr=0.05), lambda p: torch.optim.Adagrad(p, lr=0.05)),
    (
        "adagrad-lr_decay",
        lambda: optim.Adagrad(lr=0.1, lr_decay=0.01),
        lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01),
    ),
    (
        "adagrad-init-acc",
        lambda: optim.Adagrad(lr=0.1, initial_accumulator_value=0.3),
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.3),
    ),
    (
        "adagrad-all",
        lambda: optim.Adagrad(lr=0.1, lr_decay=0.02, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-6),
        lambda p: torch.optim.Adagrad(
            p, lr=0.1, lr_decay=0.02, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-6
        ),
    ),
    ("rmsprop", lambda: optim.RMSprop(lr=1e-3), lambda p: torch.optim.RMSprop(p, lr=1e-3)),
    (
        "rmsprop-centered",
        lambda: optim.RMSprop(lr=1e-3, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=1e-3, centered=True),
    ),
    (
        "rmsprop-momentum",
        lambda: optim.RMSprop(lr=1e-3, momentum=0.9),
        lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.9),
    ),
    (
        "rmsprop-wd",
        lambda: optim.RMSprop(lr=5e-4, alpha=0.9, weight_decay=0.02),
        lambda p: torch.optim.RMSprop(p, lr=5e-4, alpha=0.9, weight_decay=0.02),
    ),
    (
        "rmsprop-all",
        lambda: optim.RMSprop(lr=1e-3, alpha=0.99, eps=1e-6, weight_decay=0.01, momentum=0.5, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.99, eps=1e-6, weight_decay=0.01, momentum=0.5, centered=True),
    ),
    ("adam", lambda: optim.Adam(lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    ("adam-amsgrad", lambda: optim.Adam(lr=1e-2, amsgrad=True), lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True)),
    (
        "adam-wd",
        lambda: optim.Adam(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.05),
        lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=0.05),
    ),
    (
        "adam-wd-amsgrad-eps",
        lambda: optim.Adam(lr=1e-2, eps=1e-4, weight_decay=0.05, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=1e-2, eps=1e-4, weight_decay=0.05, amsgrad=True),
    ),
    ("adamw", lambda: optim.AdamW(lr=1e-2), lambda p: torch.optim.AdamW(p, lr=1e-2)),
    (
        "adamw-wd-amsgrad",
        lambda: optim.AdamW(lr=1e-2, weight_decay=0.2, amsgrad=True),
        lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.2, amsgrad=True),
    ),
    (
        "adamw-no-wd",
        lambda: optim.AdamW(lr=1e-2, weight_decay=0.0),
        lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.0),
    ),
    ("nadam", lambda: optim.NAdam(lr=1e-2), lambda p: torch.optim.NAdam(p, lr=1e-2)),
    ("nadam-wd", lambda: optim.NAdam(weight_decay=0.05), lambda p: torch.optim.NAdam(p, weight_decay=0.05)),
    (
        "nadam-decoupled",
        lambda: optim.NAdam(weight_decay=0.1, decoupled_weight_decay=True),
        lambda p: torch.optim.NAdam(p, weight_decay=0.1, decoupled_weight_decay=True),
    ),
    (
        "nadam-momentum_decay",
        lambda: optim.NAdam(lr=1e-2, betas=(0.85, 0.99), momentum_decay=0.05),
        lambda p: torch.optim.NAdam(p, lr=1e-2, betas=(0.85, 0.99), momentum_decay=0.05),
    ),
    ("adamax", lambda: optim.Adamax(lr=1e-2), lambda p: torch.optim.Adamax(p, lr=1e-2)),
    (
        "adamax-wd",
        lambda: optim.Adamax(lr=5e-3, betas=(0.8, 0.99), eps=1e-5, weight_decay=0.01),
        lambda p: torch.optim.Adamax(p, lr=5e-3, betas=(0.8, 0.99), eps=1e-5, weight_decay=0.01),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_200_full_batch_steps(case, torch_f64):
    _, mine, theirs = case
    model, net, _ = run_pair(mine, theirs, 200)
    assert_params_close(model, net, 1e-8)
    # the run moved the weights far beyond the tolerance (the test can fail)
    start, _ = make_pair()
    moved = max(np.abs(a - b).max() for a, b in zip(model.params(), start.params()))
    assert moved > 1e-3


def test_every_registered_optimizer_has_a_torch_case():
    tested = {type(c[1]()) for c in CASES}
    assert set(optim.OPTIMIZERS.values()) <= tested


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_float32_state_and_params_stay_float32_and_match_torch(name, torch_f64):
    lr = 0.05 if name in ("sgd", "adagrad") else 5e-3
    model, net, opt = run_pair(
        lambda: optim.get(name, lr=lr),
        lambda p: getattr(torch.optim, type(optim.get(name)).__name__)(p, lr=lr),
        30,
        dtype="float32",
    )
    assert model.flat_params().dtype == np.float32
    for k, v in opt.state.items():
        if v.ndim:  # NAdam's scalar mu_product is float64, as torch's with a float64 default
            assert v.dtype == np.float32, k
    assert_params_close(model, net, 1e-4)  # float32 rounding over 30 steps


# -- clipping against torch.nn.utils ------------------------------------------------------
@pytest.mark.parametrize(
    "clip",
    [{"clip_norm": 0.05}, {"clip_value": 0.01}, {"clip_value": 0.02, "clip_norm": 0.03}],
    ids=["norm", "value", "value-then-norm"],
)
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_clipping_matches_torch_utilities(name, clip, torch_f64):
    def hook(net):
        if "clip_value" in clip:
            torch.nn.utils.clip_grad_value_(net.parameters(), clip["clip_value"])
        if "clip_norm" in clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip["clip_norm"])

    cls = type(optim.get(name))
    kw = {"lr": 0.1, "momentum": 0.9} if name == "sgd" else {"lr": 1e-2}
    model, net, _ = run_pair(
        lambda: cls(**kw, **clip), lambda p: getattr(torch.optim, cls.__name__)(p, **kw), 50, torch_step_hook=hook
    )
    assert_params_close(model, net, 1e-8)
    # the clipped gradients left in flat_grads are torch's p.grad after its utilities
    tg = np.concatenate(
        [np.ravel(m.weight.grad.numpy().T) for m in net if isinstance(m, torch.nn.Linear)]
        + [m.bias.grad.numpy() for m in net if isinstance(m, torch.nn.Linear)]
    )
    np.testing.assert_allclose(model.flat_grads(), tg, rtol=1e-7, atol=1e-12)
    # clipping was active: the unclipped gradient is larger
    X, y = data()
    model.loss_and_grad(X, y)
    g = model.flat_grads()
    assert np.abs(g).max() > clip.get("clip_value", 0) and np.linalg.norm(g) > clip.get("clip_norm", 0)


def test_clipping_off_changes_nothing():
    """Without clip_* the result differs from a clipped run (so the test above is not vacuous)."""
    X, y = data()
    a, _ = make_pair()
    b, _ = make_pair()
    oa, ob = optim.SGD(lr=0.1), optim.SGD(lr=0.1, clip_norm=0.01)
    for m, o in ((a, oa), (b, ob)):
        m.loss_and_grad(X, y)
        o.step(m)
    assert not np.allclose(a.flat_params(), b.flat_params())


# -- schedules ------------------------------------------------------------------------------
def test_adam_with_cosine_schedule_matches_torch_per_batch(torch_f64):
    """Adam + CosineAnnealingLR(T_max=40) stepped after every batch, for 120 batches
    (three half-periods: the lr goes down, up and down again)."""

    def torch_side(p):
        o = torch.optim.Adam(p, lr=0.02)
        torch_side.sched = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=1e-4)
        return o

    X, y = data()
    model, net = make_pair()
    opt = optim.Adam(lr=S.CosineAnnealingLR(0.02, T_max=40, eta_min=1e-4))
    topt = torch_side(net.parameters())
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(3)
    for _ in range(120):
        idx = rng.choice(len(X), 8, replace=False)
        model.loss_and_grad(X[idx], y[idx])
        lr_torch = topt.param_groups[0]["lr"]
        assert opt.lr_at() == pytest.approx(lr_torch, rel=1e-12)
        opt.step(model)
        assert opt.last_lr == pytest.approx(lr_torch, rel=1e-12)
        topt.zero_grad()
        torch.nn.CrossEntropyLoss()(net(Xt[idx]), yt[idx]).backward()
        topt.step()
        torch_side.sched.step()
    assert_params_close(model, net, 1e-8)


@pytest.mark.parametrize("interval", ["epoch", "batch"])
def test_schedule_in_fit_matches_torch_and_history_records_lr(interval, torch_f64):
    """fit with an epoch (or batch) StepLR and SGD+momentum, unshuffled, equals the torch
    loop over the same batches with scheduler.step() per epoch (or per batch)."""
    X, y = data(n=20)
    epochs, bs = 4, 8  # 3 batches per epoch (8, 8, 4)
    step_size = 1 if interval == "epoch" else 2
    model, net = make_pair()
    sched = S.StepLR(0.2, step_size=step_size, gamma=0.5, interval=interval)
    h = model.fit(
        X,
        y,
        optimizer=optim.SGD(lr=sched, momentum=0.9),
        epochs=epochs,
        batch_size=bs,
        shuffle=False,
        metrics=None,
        verbose=0,
    )
    topt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=step_size, gamma=0.5)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    used = []
    for _ in range(epochs):
        for s in range(0, len(X), bs):
            topt.zero_grad()
            torch.nn.CrossEntropyLoss()(net(Xt[s : s + bs]), yt[s : s + bs]).backward()
            lr_used = topt.param_groups[0]["lr"]
            topt.step()
            if interval == "batch":
                tsched.step()
        used.append(lr_used)  # the lr of the epoch's last batch
        if interval == "epoch":
            tsched.step()
    assert h["lr"] == pytest.approx(used, rel=1e-12)
    assert len(set(h["lr"])) == epochs  # the lr really changed each epoch
    assert_params_close(model, net, 1e-8)


# -- state_dict ------------------------------------------------------------------------------
SD_CASES = [
    c
    for c in CASES
    if c[0]
    in (
        "sgd-momentum-dampening-wd",
        "sgd-nesterov",
        "adagrad-all",
        "rmsprop-all",
        "adam-wd-amsgrad-eps",
        "adamw-wd-amsgrad",
        "nadam-decoupled",
        "nadam",
        "adamax-wd",
    )
]


@pytest.mark.parametrize(
    "case",
    SD_CASES + [("adam-cosine", lambda: optim.Adam(lr=S.CosineAnnealingLR(0.01, T_max=30), clip_norm=0.5), None)],
    ids=[c[0] for c in SD_CASES] + ["adam-cosine"],
)
def test_state_dict_round_trip_continues_exactly(case):
    _, mine, _ = case
    X, y = data()
    straight, _ = make_pair()
    o = mine()
    for _ in range(200):
        straight.loss_and_grad(X, y)
        o.step(straight)

    first, _ = make_pair()
    o1 = mine()
    for _ in range(100):
        first.loss_and_grad(X, y)
        o1.step(first)
    sd = o1.state_dict()
    sd = json.loads(json.dumps({**sd, "state": {k: v.tolist() for k, v in sd["state"].items()}}))  # plain data
    assert sd["t"] == 100
    resumed, _ = make_pair(seed=7)
    resumed.set_weights(first.get_weights())
    o2 = mine()
    o2.load_state_dict(sd)
    assert o2.t == 100
    for _ in range(100):
        resumed.loss_and_grad(X, y)
        o2.step(resumed)
    np.testing.assert_array_equal(resumed.flat_params(), straight.flat_params())
    assert o2.state.keys() == o.state.keys()
    for k in o.state:
        np.testing.assert_array_equal(o2.state[k], o.state[k])


def test_state_dict_is_a_copy_and_checks_its_input():
    X, y = data()
    model, _ = make_pair()
    o = optim.Adam(lr=1e-2)
    model.loss_and_grad(X, y)
    o.step(model)
    o.epoch = 3
    sd = o.state_dict()
    before = sd["state"]["exp_avg"].copy()
    model.loss_and_grad(X, y)
    o.step(model)
    np.testing.assert_array_equal(sd["state"]["exp_avg"], before)
    assert sd["epoch"] == 3 and sd["config"]["name"] == "Adam" and sd["config"]["betas"] == [0.9, 0.999]
    with pytest.raises(ValueError, match=r"sd must be a state_dict\(\) of SGD, got one of Adam"):
        optim.SGD().load_state_dict(sd)
    with pytest.raises(ValueError, match="'t'"):
        optim.Adam().load_state_dict({**sd, "t": -1})
    bad = {**sd, "state": {**sd["state"], "exp_avg": np.full_like(before, np.nan)}}
    with pytest.raises(ValueError, match="exp_avg"):
        optim.Adam().load_state_dict(bad)


# -- cost: a constant number of NumPy calls whatever the depth ----------------------------------
class Counted(np.ndarray):
    """An ndarray that counts every ufunc call it takes part in (in-place operators included)."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        Counted.calls += 1
        plain = [i.view(np.ndarray) if isinstance(i, Counted) else i for i in inputs]
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Counted) else o for o in out)
        res = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:  # a += b must rebind a to a itself, still counted
            return out[0] if len(out) == 1 else out
        return res


class CountingXP:
    """Stands in for the backend namespace: counts each function call and hands out
    Counted arrays, so the state and work buffers are counted too."""

    def __init__(self):
        self.calls = 0

    def __getattr__(self, name):
        obj = getattr(np, name)
        if not callable(obj) or isinstance(obj, type):
            return obj

        def counted(*args, **kwargs):
            self.calls += 1
            r = obj(*args, **kwargs)
            return r.view(Counted) if type(r) is np.ndarray else r

        return counted


class Shim:
    def __init__(self, model):
        self.theta = model.flat_params().view(Counted)
        self.g = model.flat_grads().view(Counted)

    def flat_params(self):
        return self.theta

    def flat_grads(self):
        return self.g


def count_calls(make, sizes, monkeypatch):
    fake = CountingXP()
    monkeypatch.setattr(optim, "xp", fake)
    real_axpy = optim.axpy

    def counted_axpy(a, x, y, work):
        fake.calls += 1
        return real_axpy(a, x, y, work)

    monkeypatch.setattr(optim, "axpy", counted_axpy)
    model = ml.MLP(sizes, activation="tanh", output="softmax", dtype="float64", seed=0)
    X = np.random.default_rng(0).normal(size=(16, sizes[0]))
    y = np.arange(16) % sizes[-1]
    opt = make()
    per_step = []
    for _ in range(3):
        model.loss_and_grad(X, y)
        fake.calls, Counted.calls = 0, 0
        opt.step(Shim(model))
        per_step.append((fake.calls, Counted.calls))
    return per_step, model.n_params


CALL_CASES = CASES + [
    ("sgd-clip", lambda: optim.SGD(lr=0.1, momentum=0.9, clip_norm=0.1, clip_value=0.05), None),
    ("adam-schedule", lambda: optim.Adam(lr=S.CosineAnnealingLR(0.01, T_max=5), clip_norm=0.1), None),
]


@pytest.mark.parametrize("case", CALL_CASES, ids=[c[0] for c in CALL_CASES])
def test_numpy_calls_per_step_do_not_grow_with_depth(case, monkeypatch):
    _, mine, _ = case
    shallow, n2 = count_calls(mine, [4, 8, 3], monkeypatch)
    deep, n10 = count_calls(mine, [4] + [8] * 9 + [3], monkeypatch)
    assert n10 > 5 * n2  # the deep network really is much bigger
    assert deep == shallow
    assert all(f + u > 0 for f, u in shallow)  # the counters see the optimizer's calls


def test_a_hidden_per_layer_loop_would_be_counted(monkeypatch):
    """The counter is sensitive: an update that loops over the layers' arrays fails the test."""

    class PerLayer(optim.SGD):
        def _update(self, theta, g, lr):
            for k in range(0, theta.size, 50):
                theta[k : k + 50] -= lr * g[k : k + 50]

    shallow, _ = count_calls(lambda: PerLayer(lr=0.1), [4, 8, 3], monkeypatch)
    deep, _ = count_calls(lambda: PerLayer(lr=0.1), [4] + [8] * 9 + [3], monkeypatch)
    assert deep != shallow


# -- registry, config, CLI ---------------------------------------------------------------------
TORCH_DEFAULTS = {  # mlplab class -> torch class: defaults must agree
    "sgd": ("SGD", ["momentum", "dampening", "nesterov", "weight_decay"]),
    "adagrad": ("Adagrad", ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"]),
    "rmsprop": ("RMSprop", ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"]),
    "adam": ("Adam", ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
    "adamw": ("AdamW", ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
    "nadam": ("NAdam", ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"]),
    "adamax": ("Adamax", ["lr", "betas", "eps", "weight_decay"]),
}


@pytest.mark.parametrize("name", sorted(TORCH_DEFAULTS))
def test_defaults_are_torch_defaults(name):
    tname, keys = TORCH_DEFAULTS[name]
    tdef = getattr(torch.optim, tname)([torch.nn.Parameter(torch.zeros(1))]).defaults
    mine = optim.get(name)
    for k in keys:
        v = getattr(mine, k)
        assert (list(v) if isinstance(v, tuple) else v) == (list(tdef[k]) if isinstance(tdef[k], tuple) else tdef[k]), k


def test_registry_and_get():
    assert set(optim.OPTIMIZERS) == {"sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax"}
    a = optim.get("adam", lr=0.01)
    assert isinstance(a, optim.Adam) and a.lr == 0.01
    assert isinstance(optim.get("AdamW"), optim.AdamW)
    assert optim.get(a) is a
    assert isinstance(optim.get(optim.NAdam, lr=0.1), optim.NAdam)
    with pytest.raises(ValueError, match="adamax"):
        optim.get("adamm")
    cfg = optim.RMSprop(lr=0.1, centered=True, clip_norm=1.0).get_config()
    assert cfg == {
        "name": "RMSprop",
        "lr": 0.1,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": True,
        "clip_norm": 1.0,
        "clip_value": None,
    }
    json.dumps(optim.Adam(lr=S.StepLR(0.1, 5)).get_config())
    assert "betas=[0.9, 0.999]" in repr(optim.Adam())


@pytest.mark.parametrize(
    "bad, arg",
    [
        (lambda: optim.SGD(lr=-1), "lr"),
        (lambda: optim.SGD(lr=float("nan")), "lr"),
        (lambda: optim.SGD(momentum=-0.1), "momentum"),
        (lambda: optim.SGD(nesterov=True), "nesterov"),
        (lambda: optim.SGD(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda: optim.SGD(clip_norm=float("inf")), "clip_norm"),
        (lambda: optim.SGD(clip_value=-1), "clip_value"),
        (lambda: optim.Adagrad(lr_decay=-1), "lr_decay"),
        (lambda: optim.Adagrad(initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda: optim.Adagrad(eps=-1), "eps"),
        (lambda: optim.RMSprop(alpha=-0.5), "alpha"),
        (lambda: optim.RMSprop(alpha=1.5), "alpha"),
        (lambda: optim.RMSprop(weight_decay="0.1"), "weight_decay"),
        (lambda: optim.Adam(betas=(1.0, 0.999)), r"betas\[0\]"),
        (lambda: optim.Adam(betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda: optim.Adam(betas=0.9), "betas"),
        (lambda: optim.AdamW(weight_decay=-1e-2), "weight_decay"),
        (lambda: optim.NAdam(momentum_decay=-1), "momentum_decay"),
        (lambda: optim.Adamax(eps=float("nan")), "eps"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(bad, arg):
    with pytest.raises(ValueError, match=arg):
        bad()


@pytest.mark.parametrize(
    "bad, arg",
    [
        (lambda: optim.Adam(amsgrad="yes"), "amsgrad"),
        (lambda: optim.RMSprop(centered=1), "centered"),
        (lambda: optim.NAdam(decoupled_weight_decay=None), "decoupled_weight_decay"),
        (lambda: optim.SGD(momentum=0.9, nesterov="True"), "nesterov"),
    ],
)
def test_flags_must_be_bools(bad, arg):
    with pytest.raises(TypeError, match=arg):
        bad()


BAD_ARGUMENTS = [
    (lambda: optim.SGD(lr=True), "lr", "a finite number >= 0", "True"),
    (lambda: optim.SGD(lr="0.1"), "lr", "a finite number >= 0", "'0.1'"),
    (lambda: optim.SGD(lr=np.float32(-1)), "lr", "a finite number >= 0", ""),
    (lambda: optim.SGD(momentum=np.bool_(True)), "momentum", "a finite number >= 0", ""),
    (lambda: optim.SGD(clip_norm=False), "clip_norm", "a finite number >= 0", "False"),
    (lambda: optim.SGD(clip_value=float("nan")), "clip_value", "a finite number >= 0", "nan"),
    (
        lambda: optim.SGD(nesterov=True),
        "nesterov",
        "False unless momentum > 0 and dampening = 0",
        "True with momentum=0.0 and dampening=0.0",
    ),
    (lambda: optim.SGD(nesterov=1), "nesterov", "True or False", "1"),
    (lambda: optim.Adagrad(eps=None), "eps", "a finite number >= 0", "None"),
    (lambda: optim.RMSprop(alpha=1.5), "alpha", r"a number in \[0, 1\]", "1.5"),
    (lambda: optim.RMSprop(alpha=-0.5), "alpha", r"a number in \[0, 1\]", "-0.5"),
    (lambda: optim.RMSprop(alpha=True), "alpha", r"a number in \[0, 1\]", "True"),
    (lambda: optim.Adam(betas=(1.0, 0.999)), r"betas\[0\]", r"a number in \[0, 1\)", "1.0"),
    (lambda: optim.Adam(betas=(0.9, True)), r"betas\[1\]", r"a number in \[0, 1\)", "True"),
    (lambda: optim.Adam(betas=(0.9, float("nan"))), r"betas\[1\]", r"a number in \[0, 1\)", "nan"),
    (lambda: optim.Adam(betas=0.9), "betas", r"a pair \(beta1, beta2\)", "0.9"),
    (lambda: optim.Adam(betas="ab"), "betas", r"a pair \(beta1, beta2\)", "'ab'"),
    (lambda: optim.Adam(betas=(0.9,)), "betas", r"a pair \(beta1, beta2\)", r"\(0.9,\)"),
    (lambda: optim.Adam(betas=(0.9, 0.99, 0.999)), "betas", r"a pair \(beta1, beta2\)", ""),
    (lambda: optim.Adam(betas={0.9, 0.99}), "betas", r"a pair \(beta1, beta2\)", ""),
    (lambda: optim.Adam(betas=np.array(0.9)), "betas", r"a pair \(beta1, beta2\)", ""),
    (lambda: optim.NAdam(momentum_decay=float("-inf")), "momentum_decay", "a finite number >= 0", "-inf"),
    (lambda: optim.Adamax(weight_decay=[0.1]), "weight_decay", "a finite number >= 0", r"\[0.1\]"),
]


@pytest.mark.parametrize("bad, arg, what, shown", BAD_ARGUMENTS)
def test_bad_arguments_raise_argument_error_in_the_one_message_shape(bad, arg, what, shown):
    """'{name} must be {what}, got {value!r}'; an ArgumentError is a ValueError and a TypeError."""
    with pytest.raises(ArgumentError, match=f"^{arg} must be {what}, got {shown}"):
        bad()


def test_numpy_scalars_are_numbers_and_edges_follow_torch():
    o = optim.Adam(
        lr=np.float32(0.5),
        betas=(np.float32(0.5), np.float64(0.0)),
        eps=np.float64(1e-6),
        weight_decay=np.int64(0),
        clip_norm=np.float32(2.0),
        clip_value=np.int32(1),
    )
    assert (o.lr, o.betas, o.eps, o.weight_decay, o.clip_norm, o.clip_value) == (0.5, (0.5, 0.0), 1e-6, 0.0, 2.0, 1.0)
    assert all(type(v) is float for v in (o.lr, *o.betas, o.eps, o.weight_decay, o.clip_norm, o.clip_value))
    assert optim.Adam(amsgrad=np.bool_(True)).amsgrad is True
    assert optim.Adam(betas=[0.0, 0.5]).betas == (0.0, 0.5)
    assert optim.Adam(betas=np.array([0.8, 0.9])).betas == (0.8, 0.9)
    assert optim.RMSprop(alpha=1).alpha == 1.0 and optim.RMSprop(alpha=0.0).alpha == 0.0  # torch: alpha in [0, 1]
    assert optim.SGD(lr=0, momentum=0.9, nesterov=True).nesterov is True


def test_get_goes_through_the_one_lookup():
    assert isinstance(optim.get("ADAMW", lr=0.5), optim.AdamW) and optim.get("Sgd", lr=0.5).lr == 0.5
    with pytest.raises(ArgumentError, match=r"^optimizer must be an Optimizer or one of \[.*'sgd'\], got 'Adamm'"):
        optim.get("Adamm")
    for bad in (3, None, optim.Adam().step, ml.ReLU, ml.ReLU()):
        with pytest.raises(ArgumentError, match="^optimizer must be an Optimizer or one of"):
            optim.get(bad)
    a = optim.Adam()
    assert optim.get(a) is a
    with pytest.raises(ArgumentError, match="^optimizer must be a name or class when arguments"):
        optim.get(a, lr=0.1)  # an instance is returned as is: arguments would be silently dropped
    with pytest.raises(TypeError, match=r"^the arguments of optimizer .sgd. must be .*unknown \[.betas.\]"):
        optim.get("sgd", betas=(0.9, 0.99))


def test_load_state_dict_checks_name_the_argument():
    sd = optim.SGD(momentum=0.9).state_dict()
    o = optim.SGD(momentum=0.9)
    with pytest.raises(ArgumentError, match=r"^sd must be a dict from state_dict\(\) with keys 't' and 'state', got"):
        o.load_state_dict([])
    with pytest.raises(ArgumentError, match=r"^sd must be a dict .*, got None"):
        o.load_state_dict(None)
    with pytest.raises(ArgumentError, match=r"^sd must be a dict .*, got a dict with keys \['config', 'state'\]"):
        o.load_state_dict({"config": {}, "state": {}})
    for key, v in (("t", True), ("t", 1.0), ("epoch", -1), ("epoch", "3")):
        with pytest.raises(ArgumentError, match=f"^sd\\['{key}'\\] must be an int >= 0, got {v!r}"):
            o.load_state_dict({**sd, key: v})
    with pytest.raises(ArgumentError, match=r"^sd\['state'\]\['momentum_buffer'\] must be finite, got NaN or infinity"):
        o.load_state_dict({**sd, "state": {"momentum_buffer": np.array([np.inf])}})
    o.load_state_dict({**sd, "t": np.int64(4), "epoch": np.uint8(2)})
    assert (o.t, o.epoch) == (4, 2) and type(o.t) is int and type(o.epoch) is int


def test_gradients_survive_the_update_except_for_clipping():
    """Weight decay and Nesterov work in scratch space: flat_grads still holds dJ/dtheta."""
    X, y = data()
    model, _ = make_pair()
    model.loss_and_grad(X, y)
    g = model.flat_grads().copy()
    optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1).step(model)
    optim.Adam(lr=0.1, weight_decay=0.1).step(model)
    np.testing.assert_array_equal(model.flat_grads(), g)


def test_cli_train_with_adam(capsys):
    from mlplab.cli import main

    assert (
        main(
            [
                "train",
                "--dataset",
                "iris",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--epochs",
                "3",
                "--layers",
                "8",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["optimizer"] == "adam" and out["epochs"] == 3


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_get_config_rebuilds_the_optimizer(name):
    """get_config holds constructor arguments: cls(**config) is the same optimizer."""
    cls = optim.OPTIMIZERS[name]
    kw = {"lr": 0.02, "weight_decay": 0.1, "clip_norm": 2.0}
    o = cls(**kw)
    cfg = json.loads(json.dumps(o.get_config()))
    assert cfg["name"] == cls.__name__
    o2 = cls(**{k: v for k, v in cfg.items() if k != "name"})
    assert o2.get_config() == o.get_config()


def test_load_state_dict_takes_the_current_lr_of_a_run_built_alike():
    """torch's load_state_dict restores each group's lr; here, the saved current lr (which a
    callback may have lowered) is taken by an optimizer built with the saved initial lr, and a
    resumed run built with another lr keeps its own."""
    o = optim.Adam(lr=0.01)
    o.lr = 0.0025  # e.g. ReduceLROnPlateau, twice
    sd = o.state_dict()
    assert sd["initial_lr"] == 0.01 and sd["config"]["lr"] == 0.0025
    same = optim.Adam(lr=0.01)
    same.load_state_dict(sd)
    assert (same.lr, same.initial_lr, same.last_lr) == (0.0025, 0.01, 0.0025)
    other = optim.Adam(lr=0.005)
    other.load_state_dict(sd)
    assert (other.lr, other.initial_lr) == (0.005, 0.005)
    rebuilt = optim.Adam(lr=0.0025)  # as load_checkpoint rebuilds it from the saved config
    rebuilt.load_state_dict(sd)
    assert (rebuilt.lr, rebuilt.initial_lr) == (0.0025, 0.01)
    sched = optim.Adam(lr=S.get("cosine", base_lr=0.1, T_max=10))
    sched.load_state_dict(sd)
    assert callable(sched.lr) and sched.initial_lr is None
    with pytest.raises(ValueError, match=r"^sd\['initial_lr'\] must be"):
        optim.Adam(lr=0.01).load_state_dict({**sd, "initial_lr": -1.0})
