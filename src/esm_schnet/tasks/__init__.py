"""Tasks: what kind of label a head predicts (regression, classification), with its head and
loss, metrics, baselines and plots."""
