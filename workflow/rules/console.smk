# What the console shows at the end of a run. On success: where the results are, the headline
# metrics and the report command (esm_schnet.report.console.results_block). On failure: Snakemake's own
# summary names the failed jobs and their logs; one line says so. Snakemake registers these
# handlers only for the main Snakefile, so a host workflow using this one as a module keeps its own.
from esm_schnet.report.console import error_hint, results_block


onsuccess:
    print(results_block("results"), flush=True)


onerror:
    print(error_hint(), flush=True)
