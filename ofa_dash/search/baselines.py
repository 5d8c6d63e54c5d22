"""Baselines the multi-objective algorithms are measured against.

- :func:`random_search`: uniform samples, the same number of evaluations as
  ``pop_size x n_gen``; its answer is the non-dominated set of all samples.
- :func:`ofa_evolution`: OFA's original search (Cai et al., 2020): maximise
  predicted accuracy subject to a cost budget with a single-objective
  evolution, rerun once per budget; its answer is the best subnet of every
  budget. Population 100, 500 generations, parents = top 25 %, children = 50 %
  mutants of a random parent (each gene redrawn with probability 0.1) and the
  rest uniform crossovers of two random parents; a candidate over budget is
  rejected and drawn again. Written on arrays: candidates are drawn in batches
  and only the ones within budget are scored for accuracy.
"""

from __future__ import annotations

import numpy as np

from ofa_dash.search.archive import nondominated
from ofa_dash.search.context import SearchContext
from ofa_dash.search.operators import MUTATION_PROB_VAR

MAX_DRAWS = 20_000_000  # candidates drawn for one fill before giving up on a budget


class RandomSearch:
    def __init__(self, ctx: SearchContext) -> None:
        self.ctx = ctx
        self.rs = np.random.default_rng(ctx.seed)
        self.upper = ctx.space.genome_upper
        self.n_steps = ctx.n_gen
        self.params = {"pop_size": ctx.pop_size, "n_gen": ctx.n_gen, "samples_per_generation": ctx.pop_size, "sampling": "uniform random choice indices"}
        self.X = np.zeros((0, self.upper.size), dtype=np.int64)
        self.F = np.zeros((0, ctx.objectives.n_obj))
        self._last = (self.X, self.F)

    def step(self) -> None:
        X = self.rs.integers(0, self.upper, size=(self.ctx.pop_size, self.upper.size))
        F = self.ctx.evaluate(X)
        self._last = (X, F)
        X, F = np.concatenate([self.X, X]), np.concatenate([self.F, F])
        nd = nondominated(F)
        self.X, self.F = X[nd], F[nd]

    def population(self):
        return self._last

    def final(self):
        return self.X, self.F


def random_search(ctx: SearchContext) -> RandomSearch:
    return RandomSearch(ctx)


class OfaEvolution:
    def __init__(self, ctx: SearchContext) -> None:
        names = ctx.objectives.names
        if len(names) != 2 or "error" not in names:
            raise ValueError(f"ofa-evolution optimises error under a budget on one cost: give exactly two objectives, error and a cost; got {list(names)}")
        self.ctx = ctx
        self.cost_name = next(n for n in names if n != "error")
        self.cost_col = names.index(self.cost_name)
        self.err_col = names.index("error")
        self.cost = ctx.objectives.subset((self.cost_name,))
        self.rs = np.random.default_rng(ctx.seed)
        self.upper = ctx.space.genome_upper
        self.pop_size = ctx.pop_size
        self.parent_ratio = float(ctx.params.get("parent_ratio", 0.25))
        self.mutation_ratio = float(ctx.params.get("mutation_ratio", 0.5))
        self.mutate_prob = float(ctx.params.get("mutate_prob", MUTATION_PROB_VAR))
        self.n_parents = max(2, round(self.pop_size * self.parent_ratio))
        self.n_mutants = round(self.pop_size * self.mutation_ratio)
        self.n_crossed = self.pop_size - self.n_parents - self.n_mutants
        if self.n_crossed < 0:
            raise ValueError("parent_ratio + mutation_ratio must not exceed 1")
        self.budgets = self._budgets(ctx.params.get("budgets"))
        self.n_gen = ctx.n_gen
        self.n_steps = len(self.budgets) * ctx.n_gen
        self.n_rejected = 0
        self.winners: list[tuple[np.ndarray, np.ndarray]] = []
        self._budget_i = 0
        self._gen = 0
        self.X = self.F = None
        self.params = {
            "pop_size": self.pop_size,
            "n_gen_per_budget": ctx.n_gen,
            "cost": self.cost_name,
            "budgets": self.budgets.tolist(),
            "parent_ratio": self.parent_ratio,
            "mutation_ratio": self.mutation_ratio,
            "mutate_prob": self.mutate_prob,
            "constraint": "over-budget candidates rejected and redrawn",
        }

    def _budgets(self, budgets) -> np.ndarray:
        if budgets is None:  # evenly between the cheapest and the dearest subnet
            space = self.ctx.space
            lo, hi = sorted(self.cost(space.encode([space.smallest(), space.largest()]))[:, 0])
            return np.round(np.linspace(lo, hi, 11)[1:-1], 2)
        b = np.asarray(budgets, dtype=float).reshape(-1)
        if len(b) == 0 or not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise ValueError(f"budgets must be positive numbers, got {list(budgets)}")
        return b

    # ------------------------------------------------------------------ sampling under the budget
    def _within(self, make, n: int, budget: float) -> np.ndarray:
        """``n`` candidates from ``make(k)`` whose cost is within ``budget`` (rejection, batch-wise)."""
        out: list[np.ndarray] = []
        have = drawn = 0
        while have < n:
            k = max(n - have, 256)
            cand = make(k)
            ok = self.cost(cand, check=False)[:, 0] <= budget
            drawn += k
            self.n_rejected += int((~ok).sum())
            out.append(cand[ok][: n - have])
            have += len(out[-1])
            if drawn > MAX_DRAWS and have < n:
                raise ValueError(f"budget {budget:g} for {self.cost_name}: fewer than {n} of {drawn:,} candidates fit; raise the budget")
        return np.concatenate(out)

    def _random(self, k: int) -> np.ndarray:
        return self.rs.integers(0, self.upper, size=(k, self.upper.size))

    def _mutants(self, k: int) -> np.ndarray:
        par = self.X[self.rs.integers(0, len(self.X), size=k)]
        hit = self.rs.random(par.shape) < self.mutate_prob
        return np.where(hit, self._random(k), par)

    def _crossed(self, k: int) -> np.ndarray:
        a = self.X[self.rs.integers(0, len(self.X), size=k)]
        b = self.X[self.rs.integers(0, len(self.X), size=k)]
        return np.where(self.rs.random(a.shape) < 0.5, a, b)

    # ------------------------------------------------------------------ steps
    def step(self) -> None:
        budget = float(self.budgets[self._budget_i])
        if self._gen == 0:
            self.X = self._within(self._random, self.pop_size, budget)
            self.F = self.ctx.evaluate(self.X)
        order = np.argsort(self.F[:, self.err_col], kind="stable")[: self.n_parents]
        self.X, self.F = self.X[order], self.F[order]  # the parents: best predicted accuracy
        children = np.concatenate([self._within(self._mutants, self.n_mutants, budget), self._within(self._crossed, self.n_crossed, budget)])
        self.X = np.concatenate([self.X, children])
        self.F = np.concatenate([self.F, self.ctx.evaluate(children)])
        self._gen += 1
        if self._gen == self.n_gen:
            best = int(np.argmin(self.F[:, self.err_col]))
            self.winners.append((self.X[best], self.F[best]))
            self._budget_i += 1
            self._gen = 0
        self.params["n_rejected"] = self.n_rejected

    def population(self):
        return self.X, self.F

    def final(self):
        if not self.winners:
            return np.zeros((0, self.upper.size), dtype=np.int64), np.zeros((0, 2))
        return np.stack([w[0] for w in self.winners]), np.stack([w[1] for w in self.winners])


def ofa_evolution(ctx: SearchContext) -> OfaEvolution:
    return OfaEvolution(ctx)
