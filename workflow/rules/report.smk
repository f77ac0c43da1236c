# report stage: the plots (PNG for the HTML report, SVG for papers) from evaluate's tables.
# Plotting settings are params of this rule only, so changing them reruns the plots alone.
# `snakemake --report results/report.html` collects every output marked with report().
from pathlib import Path

from esm_schnet.plots import plots_job


rule plots:
    input:
        predictions="results/predictions.tsv",
        metrics="results/metrics.json",
        lengths="results/evaluate/lengths.tsv",
        history="results/evaluate/history.tsv",
        convergence="results/evaluate/convergence.tsv",
    output:
        parity=report(
            "results/plots/parity.png", caption="../report/parity.rst", category="1. Plots"
        ),
        residuals=report(
            "results/plots/residuals.png",
            caption="../report/residuals.rst",
            category="1. Plots",
        ),
        lengths=report(
            "results/plots/lengths.png", caption="../report/lengths.rst", category="1. Plots"
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
    params:
        dpi=config["plots"]["dpi"],
        window=config["embedding"]["window"],
    log:
        "logs/plots/plots.log",
    benchmark:
        "benchmarks/plots/plots.tsv"
    # a few seconds of matplotlib: on a cluster it runs on the submit host, not as a cluster job
    localrule: True
    run:
        i = input
        plots_job(i.predictions, i.metrics, i.lengths, i.history, Path(output.parity).parent,
                  params.dpi, params.window, log[0], convergence_tsv=i.convergence)
