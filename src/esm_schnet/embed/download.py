"""`esm-schnet download-model`: fetch a model's weights once (the `download_model` localrule).

Dispatches through the featurizer registry: the featurizer that handles `--model` downloads
(ESM2: hub id -> <models-dir>/<tag>/ with a `download.json` marker).
"""

from __future__ import annotations

import argparse

from esm_schnet.core.log import job_log


def cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="esm-schnet download-model",
        description="Fetch model weights (e.g. ESM2 from the Hugging Face hub) into "
        "<models-dir>/<tag>/ (needs internet once; compute jobs then read them from disk).",
    )
    p.add_argument("--model", required=True, help="hub id, e.g. facebook/esm2_t6_8M_UR50D")
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    p.add_argument("--models-dir", default="resources/models")
    p.add_argument("--log", default=None, help="log file (default: stderr)")
    args = p.parse_args(argv)
    from esm_schnet.embed.featurizers import download

    with job_log(args.log, echo=args.log is None):
        marker = download(args.model, args.revision, args.models_dir)
    print(marker)
    return 0
