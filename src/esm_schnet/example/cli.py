"""`esm-schnet make-example`."""

from __future__ import annotations

import argparse
import logging

from esm_schnet.example.dataset import make_dataset, write_dataset

log = logging.getLogger("esm_schnet.example")


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="esm-schnet make-example",
        description="Write the synthetic example dataset (structures, samples.tsv, README.md).",
    )
    parser.add_argument("--out", default="resources/example", help="output folder")
    parser.add_argument("--n", type=int, default=20, help="number of proteins (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="scale mode for benchmarks: single-chain proteins made from a pool of --pool folded "
        "backbones, each with a fresh random sequence and pose (esm_schnet.example.scale); "
        "not the bundled example",
    )
    parser.add_argument(
        "--pool", type=int, default=None, help="backbones folded for --fast (default 64)"
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.pool is not None and not args.fast:
        parser.error("--pool needs --fast")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.fast:
        from esm_schnet.example.scale import POOL, make_scale_dataset, write_scale_dataset

        pool = POOL if args.pool is None else args.pool
        if pool < 1:
            parser.error("--pool must be at least 1")
        proteins = make_scale_dataset(args.n, args.seed, pool)
        table = write_scale_dataset(proteins, args.out, args.seed, pool)
    else:
        proteins = make_dataset(args.n, args.seed)
        table = write_dataset(proteins, args.out, args.seed)
    log.info(
        "wrote %d proteins (%d residues) and %s",
        len(proteins),
        sum(p.n_residues for p in proteins),
        table,
    )
    return 0
