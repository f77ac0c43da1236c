"""`esm-schnet make-example`."""

from __future__ import annotations

import argparse
import logging

from .dataset import make_dataset, write_dataset

log = logging.getLogger("esm_schnet.example")


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="esm-schnet make-example",
        description="Write the synthetic example dataset (structures, samples.tsv, README.md).",
    )
    parser.add_argument("--out", default="resources/example", help="output folder")
    parser.add_argument("--n", type=int, default=20, help="number of proteins (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    proteins = make_dataset(args.n, args.seed)
    table = write_dataset(proteins, args.out, args.seed)
    log.info(
        "wrote %d proteins (%d residues) and %s",
        len(proteins),
        sum(p.n_residues for p in proteins),
        table,
    )
    return 0
