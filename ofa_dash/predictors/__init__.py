"""Accuracy predictors behind one interface: genome array in, top-1 (%) array out.

- :mod:`~ofa_dash.predictors.features`: the interface (:class:`AccuracyPredictor`) and the one-hot genome features;
- :mod:`~ofa_dash.predictors.official`: OFA's published predictor, and fetching OFA's published files;
- :mod:`~ofa_dash.predictors.fitted`: the project's own predictor (model, file, report) and :func:`load_predictor`;
- :mod:`~ofa_dash.predictors.measured`: the measured-subnet table it is fitted on;
- :mod:`~ofa_dash.predictors.fit`: fitting it (candidates, protocol).

This package re-exports what loading and using a predictor needs. ``fit`` and
``measured`` are imported by name (``from ofa_dash.predictors.fit import ...``):
they bring scikit-learn, pandas and pyarrow, which using a predictor does not need.
"""

from ofa_dash.predictors.features import AccuracyPredictor, block_onehot, feature_spec, n_onehot_features, onehot_features
from ofa_dash.predictors.fitted import (
    PREDICTOR_FILE,
    PREDICTOR_FORMAT,
    PREDICTOR_FORMAT_VERSION,
    FittedPredictor,
    build_mlp,
    build_model,
    load_fitted_predictor,
    load_predictor,
    predictor_meta,
    predictor_path,
    predictor_report,
    save_predictor,
)
from ofa_dash.predictors.official import OFA_PREDICTOR_FILE, OFA_PREDICTOR_URL, OfaPublishedPredictor, load_official_predictor

__all__ = [
    "OFA_PREDICTOR_FILE",
    "OFA_PREDICTOR_URL",
    "PREDICTOR_FILE",
    "PREDICTOR_FORMAT",
    "PREDICTOR_FORMAT_VERSION",
    "AccuracyPredictor",
    "FittedPredictor",
    "OfaPublishedPredictor",
    "block_onehot",
    "build_mlp",
    "build_model",
    "feature_spec",
    "load_fitted_predictor",
    "load_official_predictor",
    "load_predictor",
    "n_onehot_features",
    "onehot_features",
    "predictor_meta",
    "predictor_path",
    "predictor_report",
    "save_predictor",
]
