"""``search``: run one multi-objective search, store it, print its summary."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit
from ofa_dash.progress import progress_bar
from ofa_dash.space import get_space


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None


def _points(text: str) -> list[list[float]]:
    return [_floats(p, "--ref-points") for p in text.split(";") if p.strip()]


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; pymoo and pandas wait until this command runs
    from ofa_dash.search import RunSpec, build_objectives, get_algorithm, run_search
    from ofa_dash.store import RunStore

    space = get_space(args.space)
    get_algorithm(args.algorithm)  # fail fast, before loading anything
    params: dict = {}
    if args.ref_points:
        params["ref_points"] = _points(args.ref_points)
    if args.budgets:
        params["budgets"] = _floats(args.budgets, "--budgets")
    if args.ofa2_protocol:
        # deferred: every command module is imported to build the parser; pymoo and pandas wait until this command runs
        from ofa_dash.search.algorithms import OFA2_PROTOCOL

        params.update(OFA2_PROTOCOL)
    if args.duplicates:
        params["duplicates"] = args.duplicates
    if args.init:
        params["init"] = args.init
    if args.local_search:
        params["local_search"] = args.local_search
    n_gen = args.gens if args.gens is not None else (500 if args.algorithm == "ofa-evolution" else 1000)
    spec = RunSpec(
        space=space.name,
        algorithm=args.algorithm,
        objectives=args.objectives,
        pop_size=args.pop,
        n_gen=n_gen,
        seed=args.seed,
        params=params,
        ref_point=tuple(_floats(args.hv_ref, "--hv-ref")) if args.hv_ref else None,
    )
    objectives = build_objectives(space, spec.objectives, official_dir=args.official)
    bar = progress_bar(desc=f"{args.algorithm} seed {args.seed}", unit="gen", disable=args.quiet)

    def progress(gen: int, n_evals: int, hv: float) -> None:
        bar.update(gen - bar.n)
        if gen % 50 == 0:
            bar.set_postfix(hv=f"{hv:.2f}", evals=n_evals)

    try:
        result = run_search(spec, objectives=objectives, progress=progress)
    finally:
        bar.close()
    out = result.summary()
    if args.no_store:
        out["stored"] = False
    else:
        entry = RunStore(args.store).save(result)
        out["stored"] = True
        out["store"] = str(RunStore(args.store).runs_dir(space.name) / result.run_id)
        if entry.get("warnings"):
            out["warnings"] = entry["warnings"]
    emit(out, args.json)
    return 0


def register(sub) -> None:
    try:
        # deferred: every command module is imported to build the parser; pymoo and pandas wait until this command runs
        from ofa_dash.search.algorithms import REGISTRY

        names = ", ".join(REGISTRY)
    except ImportError:  # no pymoo: train and measure (say, on a bare GPU box) must still start
        names = "the README's list (pymoo is not installed here)"
    s = sub.add_parser("search", help="run, store and summarise one multi-objective search")
    s.add_argument("--space", default="cifar10")
    s.add_argument("--algorithm", default="nsga2", help=f"one of: {names}")
    s.add_argument("--objectives", default="error,latency:note10", help="comma-separated: error, latency:DEVICE, macs, params, peak_mem")
    s.add_argument("--pop", type=int, default=100, help="population size")
    s.add_argument("--gens", type=int, help="generations (default 1000; ofa-evolution: 500 per budget)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--official", help="folder laid out like ../shared/ofa-official (OFA's predictor and Note10 tables)")
    s.add_argument("--ref-points", help="rnsga2 reference points in objective space: 'a,b;c,d' (one point per ';')")
    s.add_argument("--budgets", help="ofa-evolution cost budgets, comma-separated (default: 9 between the smallest and largest subnet)")
    s.add_argument("--hv-ref", help="hypervolume reference point, comma-separated (default: fixed per space and objectives)")
    s.add_argument("--duplicates", choices=("genome", "canonical", "none"), help="how duplicate offspring are judged (default canonical: on the network)")
    s.add_argument("--init", choices=("random", "random+extremes"), help="initial population (default random+extremes)")
    s.add_argument("--local-search", choices=("pareto", "none"), help="nsga2: hill climbs + Pareto local search (default pareto) or plain NSGA-II")
    s.add_argument("--ofa2-protocol", action="store_true", help="OFA²'s exact operators: genome duplicates, purely random initial population, no local search")
    s.add_argument("--store", default=None, help="store root (default: OFA_DASH_PRECOMPUTED or precomputed/)")
    s.add_argument("--no-store", action="store_true", help="do not save the run")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)
