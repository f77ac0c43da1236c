"""The names of the built-in tasks: constants only, no imports, so that modules the tasks use
(e.g. the baselines, which declare the task they serve) can name them without an import circle."""

REGRESSION = "regression"
CLASSIFICATION = "classification"
