"""The shard job (`esm-schnet embed`): parsed structures -> one HDF5 embedding shard.

For the proteins of one shard: read their parsed structures (those parsed with status "skipped"
are left out, and logged), collect every chain's sequence, drop duplicates, look each one up in
the content-addressed cache, and run the model only on the misses: each chain on its own (never
glued to other chains), chains longer than `window` cut into overlapping windows, all pieces
length-sorted into token-budget batches. Per-chain embeddings are then concatenated in the
protein's residue order and written, with C-alpha coordinates and residue/chain indices, into
the shard (esm_schnet.core.store). A shard with no proteins is still written (valid, empty).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields

import numpy as np

from esm_schnet.core import store
from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.core.log import job_log, progress
from esm_schnet.embed.batching import padded_tokens, padding_fraction, plan_batches, run_batches
from esm_schnet.embed.config import EmbedConfig
from esm_schnet.embed.cache import EmbeddingCache, sequence_key
from esm_schnet.embed.featurizers import Featurizer, featurizer_kind, featurizer_name, get_featurizer
from esm_schnet.embed.windows import stitch, window_spans

log = logging.getLogger("esm_schnet.embed.shard")


def load(cfg: EmbedConfig) -> Featurizer:
    """The featurizer the registry picks for `embedding.model` (esm_schnet.embed.featurizers)."""
    return get_featurizer(cfg)


def make_cache(featurizer: Featurizer, cfg: EmbedConfig) -> EmbeddingCache:
    root = cfg.cache if (cfg.cache and featurizer.cacheable) else None
    return EmbeddingCache(
        root,
        model_id=featurizer.id,
        revision=featurizer.revision,
        layer=featurizer.layer,
        dtype=featurizer.dtype,
    )


def embed_sequences(
    featurizer: Featurizer,
    sequences: Iterable[str],
    *,
    window: int | None,
    overlap: int = 0,
    max_tokens: int = 8192,
    cache: EmbeddingCache | None = None,
    stats: dict | None = None,
    dedupe: bool = True,
) -> dict[str, tuple[np.ndarray, bool]]:
    """Embed each distinct sequence once: sequence -> (float32 [len, D], windowed).

    `window=None` means no windowing (featurizers without a window limit). Cache hits are not recomputed; misses are split
    into windows where needed, deduplicated again (identical windows run once), batched, run,
    stitched and stored in the cache. `dedupe=False` runs every occurrence (benchmarks only).
    """
    sequences = list(sequences)
    unique = list(dict.fromkeys(sequences)) if dedupe else sequences
    results: dict[str, tuple[np.ndarray, bool]] = {}
    todo: list[tuple[str, str, bool]] = []
    for s in unique:
        windowed = window is not None and len(s) > window
        key = sequence_key(s, window, overlap) if windowed else sequence_key(s)
        if len(s) == 0:
            results[s] = (np.zeros((0, featurizer.dim), dtype=np.float32), False)
            continue
        arr = cache.get(key, len(s)) if cache is not None else None
        if arr is not None:
            results[s] = (arr, windowed)
        else:
            todo.append((s, key, windowed))
    segments: dict[str, int] = {}
    seg_list: list[str] = []
    plans = []
    for s, _key, windowed in todo:
        spans = window_spans(len(s), window, overlap) if windowed else [(0, len(s))]
        idx = []
        for a, b in spans:
            piece = s[a:b]
            if piece not in segments or not dedupe:
                segments[piece] = len(seg_list)
                seg_list.append(piece)
            idx.append(segments[piece])
        plans.append((spans, idx))
    lengths = [len(x) for x in seg_list]
    special = int(getattr(featurizer, "special_tokens", 0))
    # featurizers that can run several batches at once say how many (CPU: one per thread)
    parallel = getattr(featurizer, "batch_workers", None)
    t0 = time.perf_counter()
    with parallel() if parallel is not None and seg_list else contextlib.nullcontext(1) as workers:
        outs = run_batches(
            seg_list,
            featurizer.forward,
            max_tokens,
            progress=(lambda total: progress(logger=log, desc="embedding", total=total, unit="res"))
            if seg_list
            else None,
            special=special,
            workers=workers,
        )
    seconds = time.perf_counter() - t0
    for (s, key, windowed), (spans, idx) in zip(todo, plans, strict=True):
        arr = stitch(len(s), spans, [outs[i] for i in idx])
        if cache is not None:
            cache.put(key, arr)
        results[s] = (arr, windowed)
    if stats is not None:
        batches = plan_batches(lengths, max_tokens, special)
        stats.update(
            distinct_sequences=len(unique),
            cache_hits=len(unique) - len(todo),
            sequences_run=len(todo),
            segments_run=len(seg_list),
            residues_run=int(sum(lengths)),
            batches=len(batches),
            padding_fraction=round(padding_fraction(lengths, batches, special), 4),
            tokens=int(sum(padded_tokens([lengths[i] for i in b], special) for b in batches)),
            model_seconds=round(seconds, 3),
            batch_workers=workers,
        )
    return results


def embed_proteins(
    proteins: Sequence,
    featurizer: Featurizer,
    cfg: EmbedConfig,
    cache: EmbeddingCache | None = None,
    stats: dict | None = None,
) -> list[store.ProteinRecord]:
    """Records (esm_schnet.core.store.ProteinRecord) for parsed proteins (esm_schnet.parse.Protein).

    Every chain is embedded on its own; the protein's embedding is the chains' embeddings
    concatenated in chain order, i.e. the protein's residue order (row i <-> protein.ca[i]).
    """
    window = cfg.window if featurizer.window is not None else None
    seqs = [c.sequence for p in proteins for c in p.chains]
    emb = embed_sequences(
        featurizer,
        seqs,
        window=window,
        overlap=cfg.overlap,
        max_tokens=cfg.max_tokens,
        cache=cache,
        stats=stats,
    )
    records = []
    for p in proteins:
        parts = [emb[c.sequence][0] for c in p.chains]
        embedding = (
            np.concatenate(parts, axis=0)
            if parts
            else np.zeros((0, featurizer.dim), dtype=np.float32)
        )
        ca = np.asarray(p.ca, dtype=np.float32).reshape(-1, 3)
        if embedding.shape[0] != ca.shape[0]:
            raise EsmSchnetError(
                f"protein {p.id!r}: {embedding.shape[0]} residues in the chain sequences but "
                f"{ca.shape[0]} C-alpha positions"
            )
        records.append(
            store.ProteinRecord(
                id=p.id,
                ca=ca,
                embedding=embedding,
                residue_index=np.asarray(p.residue_number, dtype=np.int32),
                chain_index=np.asarray(p.chain_index, dtype=np.int32),
                sequence=store.SEPARATOR.join(c.sequence for c in p.chains),
                n_residues=int(ca.shape[0]),
                windowed=any(emb[c.sequence][1] for c in p.chains),
                chain_names=[str(getattr(c, "label", c.name)) for c in p.chains],
            )
        )
    return records


def shard_file_attrs(featurizer: Featurizer | None, cfg: EmbedConfig) -> dict:
    """File attrs of a shard; `featurizer` (registered name) and `featurizer_kind` record which
    featurizer computed it (from the registry alone when the shard is empty). `model_revision`
    is the weights' identity (hub commit, weights hash); `requested_revision` the configured
    `embedding.revision` (what a later job passes to load the same weights again)."""
    if featurizer is None:  # empty shard: no model loaded
        return {
            "featurizer": featurizer_name(cfg.model),
            "featurizer_kind": featurizer_kind(cfg.model),
            "model_id": cfg.model,
            "model_revision": cfg.revision,
            "requested_revision": cfg.revision,
            "layer": cfg.layer,
            "dtype": cfg.dtype,
            "embedding_dim": 0,
            "window": cfg.window,
            "overlap": cfg.overlap,
        }
    return {
        "featurizer": featurizer_name(featurizer.id),
        "featurizer_kind": featurizer.kind,
        "model_id": featurizer.id,
        "model_revision": featurizer.revision,
        "requested_revision": cfg.revision,
        "layer": featurizer.layer,
        "dtype": featurizer.dtype,
        "embedding_dim": featurizer.dim,
        "window": cfg.window if featurizer.window is not None else 0,
        "overlap": cfg.overlap if featurizer.window is not None else 0,
    }


def read_proteins(structure_paths: Sequence[str | os.PathLike]) -> list:
    """Parsed proteins of the shard, leaving out those parsed with status 'skipped'."""
    from esm_schnet.parse import read_structure_h5

    proteins = []
    for path in structure_paths:
        p = read_structure_h5(path)
        if getattr(p, "error", None):
            log.info("leaving out %s: skipped at parse (%s)", p.id, p.error)
            continue
        proteins.append(p)
    return proteins


def embed_shard(
    structure_h5_paths: Sequence[str | os.PathLike],
    out_h5: str | os.PathLike,
    cfg: EmbedConfig | dict | None = None,
    *,
    featurizer=None,
) -> dict:
    """Embed the proteins of one shard into `out_h5`; returns run statistics."""
    cfg = cfg if isinstance(cfg, EmbedConfig) else EmbedConfig.from_dict(cfg)
    cfg.check()
    t0 = time.perf_counter()
    proteins = read_proteins(structure_h5_paths)
    stats: dict = {"proteins": len(proteins), "chains": sum(len(p.chains) for p in proteins)}
    records: list[store.ProteinRecord] = []
    if proteins:
        if featurizer is None:
            featurizer = load(cfg)
        log.info(
            "%s featurizer (%s): model %s @ %s, layer %d, dim %d, %s on %s",
            featurizer_name(featurizer.id),
            featurizer.kind,
            featurizer.id,
            featurizer.revision,
            featurizer.layer,
            featurizer.dim,
            featurizer.dtype,
            featurizer.device,
        )
        cache = make_cache(featurizer, cfg)
        records = embed_proteins(proteins, featurizer, cfg, cache=cache, stats=stats)
    elif featurizer is None:
        log.info("no proteins in this shard: writing an empty shard")
    store.write_shard(
        out_h5, records, shard_file_attrs(featurizer, cfg), storage_dtype=cfg.storage_dtype
    )
    stats["residues"] = int(sum(r.n_residues for r in records))
    stats["windowed_proteins"] = int(sum(r.windowed for r in records))
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    log.info("wrote %s: %s", out_h5, json.dumps(stats, sort_keys=True))
    return stats


def cli(argv: list[str]) -> int:
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args

    p = argparse.ArgumentParser(
        prog="esm-schnet embed",
        description="Embed the proteins of one shard (parsed structure .h5 files) into an HDF5 shard.",
    )
    add_path_arguments(p, "--structures", required=False,
                       help="parsed structure files (results/structures/<id>.h5)")
    p.add_argument("--out", required=True, help="output shard (.h5)")
    p.add_argument(
        "--settings",
        default="{}",
        help="JSON object of embedding settings (the config's embedding section); flags below override it",
    )
    for f in fields(EmbedConfig):
        kind = int if f.type in ("int", int) else str
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--log", default=None, help="log file (default: stderr)")
    args = p.parse_args(argv)
    try:
        settings = json.loads(args.settings)
    except ValueError as exc:
        raise EsmSchnetError(f"--settings is not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise EsmSchnetError("--settings must be a JSON object")
    for f in fields(EmbedConfig):
        value = getattr(args, f.name)
        if value is not None:
            settings[f.name] = value
    cfg = EmbedConfig.from_dict(settings)
    with job_log(args.log, echo=args.log is None):
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        log.info("settings: %s", json.dumps(asdict(cfg), sort_keys=True))
        embed_shard(paths_from_args(args, "structures"), args.out, cfg)
    return 0
