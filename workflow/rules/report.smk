# report stage: the plots (PNG for the HTML report, SVG for papers) from evaluate's tables.
# Plotting settings are params of this rule only, so changing them reruns the plots alone.
# `snakemake --report results/report.html` collects every output marked with report().
from pathlib import Path

from esm_schnet.report.plots import plot_names, plots_job
from esm_schnet.report.pages import PLOT_NAMES, report_pages_job

# Every plot of the configured labels (esm_schnet.report.plots.plot_names): per label parity and
# residuals (regression) or roc, pr and confusion (classification), named with the label when
# there are several (plot_output in common.smk: the caption of its kind of plot).
PLOTS = plot_names(LABEL_SPECS)


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
    message:
        "report_pages: report tables and the headline -> results/report/"
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
        **{name.replace("-", "_"): plot_output(name) for name in PLOTS},
        svg=expand("results/plots/{name}.svg", name=PLOTS),
    log:
        "logs/plots/plots.log",
    benchmark:
        "benchmarks/plots/plots.tsv"
    # a few seconds of matplotlib: on a cluster it runs on the submit host, not as a cluster job
    localrule: True
    params:
        dpi=config["plots"]["dpi"],
        window=config["embedding"]["window"],
    message:
        "plots: the figures -> results/plots/"
    run:
        i = input
        plots_job(
            i.predictions,
            i.metrics,
            i.lengths,
            i.history,
            Path(output.lengths).parent,
            params.dpi,
            params.window,
            log[0],
            convergence_tsv=i.convergence,
        )
