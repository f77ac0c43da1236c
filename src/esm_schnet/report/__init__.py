"""The report stage: plots of the evaluated tables, the report pages for `snakemake --report`
and the results block printed on the console at the end of a run."""
