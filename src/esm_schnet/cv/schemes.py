"""The CV scheme names (constants only: modules outside cv, e.g. the evaluate tables, read them
without importing the folds job)."""

SCHEMES = ("loocv", "kfold", "group", "logo")
# Schemes whose folds keep whole clusters together (evaluation resamples clusters under them).
GROUPED_SCHEMES = ("group", "logo")
