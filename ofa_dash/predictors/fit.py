"""Fitting the project's accuracy predictor on measured subnets, against simple alternatives.

Protocol (why it is trustworthy): the measured subnets are split once, seeded,
into 80 % for fitting and 20 % held out. The candidates (a small MLP ensemble,
ridge regression, gradient-boosted trees) are compared by k-fold cross-
validation *inside* the 80 %, the winner is the one with the highest mean
Kendall tau (ranking is what a Pareto search consumes), and every candidate is
then refitted on the whole 80 % and scored on the untouched 20 %. The figures
the dashboard shows (RMSE, Kendall tau) are those held-out scores of the
winner, so choosing the model never peeked at them. The same held-out
residuals calibrate the predictor's accuracy interval and measure its coverage
(:mod:`ofa_dash.predictors.intervals`); :func:`recalibrate` does that alone for
a saved predictor, keeping its weights.

Every candidate ends as a torch module over ``onehot_features`` returning
top-1 in percent, so the saved file is the same kind whichever one wins.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ofa_dash.predictors.features import feature_spec, onehot_features
from ofa_dash.predictors.fitted import FittedPredictor, build_mlp
from ofa_dash.predictors.intervals import DEFAULT_FOLDS, DEFAULT_LEVEL, calibrate_interval
from ofa_dash.predictors.measured import genome_matrix
from ofa_dash.space import SearchSpace

CANDIDATES = ("mlp", "ridge", "gbrt")
MIN_ROWS = 20
MIN_INTERVAL_ROWS = 10  # held-out subnets below which no interval is calibrated (its coverage could not be measured)


@dataclass(frozen=True)
class MlpSpec:
    """A mean of ``members`` one-hidden-layer ReLU MLPs, each with a linear shortcut, on standardised targets.

    Why this shape: on ~1,000 rows of one-hot architecture features accuracy is mostly additive
    (a linear model is already strong), so the shortcut carries that part and the hidden units
    model interactions (resolution x depth, ...); averaging a few members cuts the variance.
    """

    width: int = 128
    members: int = 3
    steps: int = 4000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1.0  # strong decoupled decay: measured accuracies are noisy and rows are few


@dataclass(frozen=True)
class FitConfig:
    seed: int = 0
    test_fraction: float = 0.2
    folds: int = 5
    candidates: tuple[str, ...] = CANDIDATES
    mlp: MlpSpec = field(default_factory=MlpSpec)
    gbrt_trees: int = 400
    gbrt_depth: int = 2
    interval_level: float = DEFAULT_LEVEL  # percent of held-out subnets the accuracy interval should contain
    interval_folds: int = DEFAULT_FOLDS  # cross-conformal folds that measure that coverage


def metrics(pred: np.ndarray, truth: np.ndarray) -> dict:
    """RMSE (accuracy points) and Kendall tau (scipy's tau-b) of predictions against measurements."""
    from scipy.stats import kendalltau

    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    tau = kendalltau(pred, truth).statistic if len(truth) > 1 else float("nan")
    return {"rmse": float(np.sqrt(np.mean((pred - truth) ** 2))), "kendall_tau": float(tau)}


# --------------------------------------------------------------------------- candidates
class _MlpEnsemble(nn.Module):
    """Training-time form: all members' hidden layers in one matmul, one output per member."""

    def __init__(self, n_features: int, spec: MlpSpec):
        super().__init__()
        self.members, self.width = spec.members, spec.width
        self.hidden = nn.Linear(n_features, spec.members * spec.width)
        self.out = nn.Parameter(torch.empty(spec.members, spec.width).uniform_(-(spec.width**-0.5), spec.width**-0.5))
        self.out_bias = nn.Parameter(torch.zeros(spec.members))
        self.skip = nn.Linear(n_features, spec.members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, members)
        h = torch.relu(self.hidden(x)).view(len(x), self.members, self.width)
        return (h * self.out).sum(-1) + self.out_bias + self.skip(x)

    @torch.no_grad()
    def compile(self, y_mean: float, y_std: float) -> nn.Sequential:
        """The exact same function as one plain ``Sequential(Linear, ReLU, Linear)`` in percent.

        The member mean is a wider hidden layer with scaled output weights, and the summed
        shortcut ``s.x`` rides through the ReLU as ``relu(s.x) - relu(-s.x)``; so the saved
        model is an ordinary MLP that any MLP fast path can run.
        """
        m = self.members
        scale = y_std / m
        skip_w = self.skip.weight.sum(0, keepdim=True) * scale  # (1, F)
        hidden_w = torch.cat([self.hidden.weight, skip_w, -skip_w])
        hidden_b = torch.cat([self.hidden.bias, torch.zeros(2)])
        out_w = torch.cat([self.out.reshape(-1) * scale, torch.tensor([1.0, -1.0])])[None, :]
        out_b = y_mean + scale * (self.out_bias.sum() + self.skip.bias.sum())
        seq = build_mlp([hidden_w.shape[1], hidden_w.shape[0], 1])
        seq[0].weight.copy_(hidden_w)
        seq[0].bias.copy_(hidden_b)
        seq[2].weight.copy_(out_w)
        seq[2].bias.copy_(out_b.reshape(1))
        return seq.eval()


def fit_mlp(x: np.ndarray, y: np.ndarray, spec: MlpSpec, seed: int) -> nn.Sequential:
    """Train the ensemble (AdamW, one-cycle schedule, fixed step budget) and compile it to a Sequential."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    y_mean, y_std = float(np.mean(y)), float(np.std(y)) or 1.0
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    yt = torch.from_numpy(((np.asarray(y) - y_mean) / y_std).astype(np.float32))
    net = _MlpEnsemble(x.shape[1], spec)
    opt = torch.optim.AdamW(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=spec.steps, pct_start=0.1)
    batch = min(spec.batch_size, len(xt))
    order = torch.randperm(len(xt), generator=gen)
    pos = 0
    for _ in range(spec.steps):
        if pos + batch > len(order):
            order, pos = torch.randperm(len(xt), generator=gen), 0
        idx = order[pos : pos + batch]
        pos += batch
        loss = ((net(xt[idx]) - yt[idx, None]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.compile(y_mean, y_std)


def fit_ridge(x: np.ndarray, y: np.ndarray, seed: int = 0) -> nn.Sequential:
    """Ridge regression with its penalty chosen by efficient leave-one-out CV, as a one-layer Sequential."""
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x, y)
    seq = build_mlp([x.shape[1], 1])
    with torch.no_grad():
        seq[0].weight.copy_(torch.as_tensor(ridge.coef_, dtype=torch.float32)[None, :])
        seq[0].bias.fill_(float(ridge.intercept_))
    return seq.eval()


def fit_gbrt(x: np.ndarray, y: np.ndarray, seed: int = 0, n_trees: int = 400, depth: int = 2) -> nn.Sequential:
    """scikit-learn gradient-boosted trees (squared error), rewritten exactly as a ReLU MLP (see :func:`trees_to_mlp`)."""
    from sklearn.ensemble import GradientBoostingRegressor

    gbr = GradientBoostingRegressor(n_estimators=n_trees, max_depth=depth, learning_rate=0.1, subsample=0.8, random_state=seed).fit(x, y)
    return trees_to_mlp(gbr, x.shape[1])


def trees_to_mlp(gbr, n_features: int) -> nn.Sequential:
    """A fitted ``GradientBoostingRegressor`` on 0/1 features as ``Sequential(Linear, ReLU, Linear)``, exactly.

    Why: on binary inputs a leaf is an AND of k literals (x_f or 1 - x_f), and
    ``relu(sum(literals) - k + 1)`` is 1 exactly when all hold; the ensemble is the
    sum of leaf values times those indicators. Leaves with the same path in different
    trees share one unit. The result predicts a population as two matmuls (a tree walk
    per row and tree would take seconds for 100,000 genomes) and saves like the MLP.
    """
    units: dict[frozenset, float] = {}
    base = float(np.ravel(gbr.init_.constant_)[0])
    for est in gbr.estimators_:
        tree = est[0].tree_
        stack = [(0, ())]
        while stack:
            node, path = stack.pop()
            if tree.children_left[node] == -1:
                value = float(tree.value[node, 0, 0]) * gbr.learning_rate
                if path:
                    key = frozenset(path)
                    units[key] = units.get(key, 0.0) + value
                else:
                    base += value
                continue
            f, thr = int(tree.feature[node]), float(tree.threshold[node])
            if not 0.0 <= thr < 1.0:
                raise ValueError(f"tree threshold {thr} on feature {f} is not between 0 and 1; only 0/1 features can be rewritten")
            stack.append((int(tree.children_left[node]), (*path, (f, 0))))  # x_f <= thr, i.e. x_f == 0
            stack.append((int(tree.children_right[node]), (*path, (f, 1))))
    keys = [k for k in units if not any((f, 1 - v) in k for f, v in k)]  # drop contradictory paths (never reached)
    seq = build_mlp([n_features, max(1, len(keys)), 1])
    w = torch.zeros(max(1, len(keys)), n_features)
    b = torch.zeros(max(1, len(keys)))
    out = torch.zeros(1, max(1, len(keys)))
    for i, key in enumerate(keys):
        for f, v in key:
            w[i, f] += 1.0 if v else -1.0
        b[i] = sum(1 for _, v in key if not v) - len(key) + 1
        out[0, i] = units[key]
    with torch.no_grad():
        seq[0].weight.copy_(w)
        seq[0].bias.copy_(b)
        seq[2].weight.copy_(out)
        seq[2].bias.fill_(base)
    return seq.eval()


def _fit_candidate(name: str, x: np.ndarray, y: np.ndarray, cfg: FitConfig) -> nn.Sequential:
    if name == "mlp":
        return fit_mlp(x, y, cfg.mlp, cfg.seed)
    if name == "ridge":
        return fit_ridge(x, y, cfg.seed)
    if name == "gbrt":
        return fit_gbrt(x, y, cfg.seed, cfg.gbrt_trees, cfg.gbrt_depth)
    raise ValueError(f"unknown predictor candidate {name!r}; choose from {list(CANDIDATES)}")


def _model_spec(model: nn.Sequential) -> dict:
    sizes = [model[0].in_features] + [m.out_features for m in model if isinstance(m, nn.Linear)]
    return {"type": "mlp", "sizes": sizes}


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(np.asarray(x, dtype=np.float32))).squeeze(1).double().numpy()


_DESCRIPTIONS = {
    "mlp": "mean of {members} MLPs ({width} ReLU units + linear shortcut), AdamW, {steps} steps",
    "ridge": "ridge regression on the same one-hot features (penalty by leave-one-out CV)",
    "gbrt": "gradient-boosted trees (scikit-learn, {trees} trees of depth {depth}, run as an equivalent ReLU MLP)",
}


# --------------------------------------------------------------------------- protocol
def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, test) row indices; the test part is ``round(n * test_fraction)`` rows."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def fit_predictor(space: SearchSpace, measured: pd.DataFrame, cfg: FitConfig | None = None) -> tuple[FittedPredictor, dict]:
    """Fit every candidate, keep the best by cross-validated Kendall tau; returns (predictor, report).

    ``measured`` is a table from :func:`ofa_dash.predictors.measured.read_measured` (one supernet version).
    """
    from sklearn.model_selection import KFold

    cfg = cfg or FitConfig()
    unknown = [c for c in cfg.candidates if c not in CANDIDATES]
    if unknown or not cfg.candidates:
        raise ValueError(f"unknown predictor candidate(s) {unknown or '(none given)'}; choose from {list(CANDIDATES)}")
    df = measured.drop_duplicates("id", keep="last").reset_index(drop=True)
    versions = sorted(set(df["supernet_version"]))
    if len(versions) > 1:
        raise ValueError(f"measured subnets come from several supernet versions {versions}; fit on one version only")
    if len(df) < MIN_ROWS:
        raise ValueError(f"only {len(df)} measured subnets; fitting a predictor needs at least {MIN_ROWS} (run `measure` with a larger --n)")
    start = time.perf_counter()
    x = onehot_features(space, genome_matrix(df))
    y = df["top1_holdout"].to_numpy(dtype=np.float64)
    train, test = split_indices(len(df), cfg.test_fraction, cfg.seed)
    folds = max(2, min(cfg.folds, len(train) // 5))

    rows = []
    models = {}
    for name in cfg.candidates:
        cv = {"rmse": [], "kendall_tau": []}
        for fit_idx, val_idx in KFold(folds, shuffle=True, random_state=cfg.seed).split(train):
            model = _fit_candidate(name, x[train[fit_idx]], y[train[fit_idx]], cfg)
            for k, v in metrics(_predict(model, x[train[val_idx]]), y[train[val_idx]]).items():
                cv[k].append(v)
        t0 = time.perf_counter()
        models[name] = _fit_candidate(name, x[train], y[train], cfg)
        fit_seconds = time.perf_counter() - t0
        held_out = metrics(_predict(models[name], x[test]), y[test])
        rows.append(
            {
                "model": name,
                "description": _DESCRIPTIONS[name].format(
                    members=cfg.mlp.members, width=cfg.mlp.width, steps=cfg.mlp.steps, trees=cfg.gbrt_trees, depth=cfg.gbrt_depth
                ),
                "cv_kendall_tau": float(np.nanmean(cv["kendall_tau"])),
                "cv_rmse": float(np.mean(cv["rmse"])),
                "kendall_tau": held_out["kendall_tau"],
                "rmse": held_out["rmse"],
                "fit_seconds": round(fit_seconds, 2),
            }
        )
    best = max(rows, key=lambda r: (np.nan_to_num(r["cv_kendall_tau"], nan=-1.0), -r["cv_rmse"]))
    for r in rows:
        r["selected"] = r is best
    model = models[best["model"]]
    meta = {
        "model_name": best["model"],
        "model": _model_spec(model),
        "features": feature_spec(space),
        "space": space.name,
        "target": "top1_holdout (percent, 5,000-image holdout split of the training set)",
        "n_measured": len(df),
        "n_train": len(train),
        "n_test": len(test),
        "split_seed": cfg.seed,
        "cv_folds": folds,
        "selected_by": "highest mean Kendall tau in k-fold CV on the training 80 %",
        "rmse": best["rmse"],
        "kendall_tau": best["kendall_tau"],
        "comparison": rows,
        "supernet_version": versions[0],
        "y_range": [float(y.min()), float(y.max())],
        "fit_config": asdict(cfg) | {"candidates": list(cfg.candidates)},
        "fit_seconds": round(time.perf_counter() - start, 1),
        "fitted": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "test_ids": df["id"].iloc[test].tolist(),
        "interval": _interval_or_none(_predict(model, x[test]), y[test], cfg),
    }
    return FittedPredictor(space, model, meta), meta


def _interval_or_none(predicted: np.ndarray, measured: np.ndarray, cfg: FitConfig) -> dict | None:
    """The calibrated interval, or None when too few subnets are held out to measure one (a small first fit still saves)."""
    if len(measured) < max(MIN_INTERVAL_ROWS, 2 * cfg.interval_folds):
        return None
    return calibrate_interval(predicted, measured, cfg.interval_level, cfg.interval_folds, cfg.seed)


def recalibrate(predictor: FittedPredictor, measured: pd.DataFrame, level: float = DEFAULT_LEVEL, folds: int = DEFAULT_FOLDS) -> FittedPredictor:
    """``predictor`` with its interval (re)calibrated on its own held-out subnets (``meta["test_ids"]``); weights untouched.

    For a predictor saved before intervals existed: same residuals, same protocol as a fresh fit.
    Refuses (ValueError) when the held-out ids are not all in ``measured`` or were measured on other weights.
    """
    meta = predictor.meta
    ids = meta.get("test_ids") or []
    if not ids:
        raise ValueError("the predictor's metadata lists no held-out subnets (test_ids); refit it with `fit-predictor`")
    df = measured.drop_duplicates("id", keep="last").set_index("id")
    missing = [i for i in ids if i not in df.index]
    if missing:
        raise ValueError(
            f"{len(missing)} of the predictor's {len(ids)} held-out subnets are not in the measured data (e.g. {missing[0]}); refit with `fit-predictor`"
        )
    held = df.loc[ids].reset_index()
    versions = sorted(set(held["supernet_version"]))
    if versions != [meta.get("supernet_version")]:
        raise ValueError(f"the held-out subnets were measured on supernet {versions}, the predictor was fitted on {meta.get('supernet_version')!r}")
    predicted = predictor.predict(genome_matrix(held))
    seed = int(meta.get("split_seed", 0))
    interval = calibrate_interval(predicted, held["top1_holdout"].to_numpy(dtype=np.float64), level, folds, seed)
    return FittedPredictor(predictor.space, predictor.model, {**meta, "interval": interval})
