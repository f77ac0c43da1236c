"""The predict stage: the final model (or the fold ensemble) scoring new structures. Named
`prediction` because `esm_schnet.predict` is the public one-step function."""
