# report stage: the plots (PNG for the HTML report, SVG for papers) from evaluate's tables.
# Plotting settings are params of this rule only, so changing them reruns the plots alone.
# `snakemake --report results/report.html` collects every output marked with report().
from pathlib import Path

from esm_schnet.plots import plots_job
from esm_schnet.report_pages import PLOT_NAMES, report_pages_job


# Report pages: predictions and QC as sortable HTML tables, the headline result that the landing
# page (workflow/report/workflow.rst) includes, and the numbers behind each plot (its caption
# includes them).
rule report_pages:
    input:
        predictions="results/predictions.tsv",
        metrics="results/metrics.json",
        structures="results/qc/structures.tsv",
        skipped="results/qc/skipped.tsv",
        lengths="results/evaluate/lengths.tsv",
        convergence="results/evaluate/convergence.tsv",
        history="results/evaluate/history.tsv",
    output:
        tables=report(
            "results/report/tables.html",
            caption="../report/tables.rst",
            category="2. Metrics",
        ),
        headline="results/report/headline.rst",
        values=expand("results/report/values/{name}.rst", name=PLOT_NAMES),
    log:
        "logs/report_pages/report_pages.log",
    localrule: True
    run:
        report_pages_job(input, output, log[0])


rule plots:
    input:
        predictions="results/predictions.tsv",
        metrics="results/metrics.json",
        lengths="results/evaluate/lengths.tsv",
        history="results/evaluate/history.tsv",
        convergence="results/evaluate/convergence.tsv",
        # the numbers each caption shows (report_pages)
        values=expand("results/report/values/{name}.rst", name=PLOT_NAMES),
    output:
        parity=report(
            "results/plots/parity.png",
            caption="../report/parity.rst",
            category="1. Plots",
        ),
        residuals=report(
            "results/plots/residuals.png",
            caption="../report/residuals.rst",
            category="1. Plots",
        ),
        lengths=report(
            "results/plots/lengths.png",
            caption="../report/lengths.rst",
            category="1. Plots",
        ),
        learning_curves=report(
            "results/plots/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="1. Plots",
        ),
        svg=expand(
            "results/plots/{name}.svg",
            name=["parity", "residuals", "lengths", "learning_curves"],
        ),
    log:
        "logs/plots/plots.log",
    benchmark:
        "benchmarks/plots/plots.tsv"
    # a few seconds of matplotlib: on a cluster it runs on the submit host, not as a cluster job
    localrule: True
    params:
        dpi=config["plots"]["dpi"],
        window=config["embedding"]["window"],
    run:
        i = input
        plots_job(
            i.predictions,
            i.metrics,
            i.lengths,
            i.history,
            Path(output.parity).parent,
            params.dpi,
            params.window,
            log[0],
            convergence_tsv=i.convergence,
        )
