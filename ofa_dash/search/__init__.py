"""Multi-objective search over a space's subnets (pymoo), with per-generation hypervolume and an archive."""

from ofa_dash.search.algorithms import REGISTRY, get_algorithm
from ofa_dash.search.objectives import Objectives, build_objectives, parse_objectives
from ofa_dash.search.problem import SubnetProblem
from ofa_dash.search.run import RunResult, RunSpec, reference_point, run_search

__all__ = [
    "REGISTRY",
    "Objectives",
    "RunResult",
    "RunSpec",
    "SubnetProblem",
    "build_objectives",
    "get_algorithm",
    "parse_objectives",
    "reference_point",
    "run_search",
]
