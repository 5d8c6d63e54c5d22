"""A deployment ladder: K subnets of a Pareto front, spread over its latency range, exported as one folder.

An engineer who ships to several devices or budgets wants more than one file:
the folder holds K verified fp32 ONNX models, ``ladder.json`` (each model's
objectives with where each figure comes from, and the export's parity
figures) and ``pick.py``, a standard-library script that returns the most
accurate model whose latency fits a budget.

One module per job: :mod:`.rungs` (which front members; light, pages use it),
:mod:`.build` (export, manifest, staging, zip; loads torch) and :mod:`.pick`
(shipped as ``pick.py``: imports nothing of the project). The front itself is
the caller's: the CLI and the Fronts page take it from the dashboard's
catalogue (:mod:`ofa_dash.ui.ladder_view`).
"""
