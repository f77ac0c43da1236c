"""The shared core every stage uses: settings (the config schema and its typed sections), samples
and labels (the sample table and what each label column is), store (HDF5 shards and manifests),
files, log and errors (atomic writes, one-line job logs, the errors a user sees), paths and
pathlist (job input paths, list files instead of long command lines), plugins (entry-point
loading for the registries), device and deploy. Nothing here imports a stage."""
