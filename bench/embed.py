"""Embedding throughput: our embedder vs a naive baseline, and against this machine's FLOP roofline.

    .venv/bin/python bench/embed.py [--models 8M,650M] [--max-residues-650M 2000] [--threads N]
        [--repeats 3] [--repeats-650M 1] [--dtypes float32,bfloat16] [--one-team]

Prints one JSON object. Same sequences, same architecture, same random weights, same library
(transformers EsmModel, SDPA) for both:

- ours: esm_schnet.embed (what `esm-schnet embed` runs): each chain on its own, identical chains
  once, length-sorted batches under a token budget (BOS/EOS/padding counted), model cut after
  the exported layer (no pooler, no LM head), torch.inference_mode; cache off (pure compute).
- naive: as in the original analysis: the chains of a protein glued into one string, proteins in
  file order, a fixed batch size (8), padded to the longest of the batch with the tokenizer, the
  full EsmModel with output_hidden_states under torch.no_grad. Unlike the original, nothing is
  truncated or dropped, so both embed the same residues.
- extract: the batching rule of facebookresearch/esm scripts/extract.py (esm/data.py
  `FastaBatchedDataset.get_batch_indices(toks_per_batch, extra_toks_per_seq=1)`): every chain on
  its own (no dedupe), sorted by length ascending, greedy batches while
  max(len + 1) * (n + 1) <= --toks-per-batch (4096, extract.py's default; extract.py counts len+1
  although the batch tensor holds len+2 with BOS and EOS), each batch padded to its longest
  (BOS/EOS added), EsmModel under torch.no_grad. Unlike extract.py nothing is truncated (it cuts
  at 1022 residues) and no LM head is run (fair-esm computes the logits too), so it embeds the
  same residues as ours and is, if anything, favoured. `speedup_vs_extract` is ours over it,
  `speedup_vs_extract_without_dedupe` ours without dedupe over it.

residues/s = residues delivered (sum of all proteins' residues) / wall seconds of the embedding
(model loading excluded; one warm-up forward each). `ours_without_dedupe` is ours with every
chain run even when an identical chain was already embedded (homo-oligomers are common: the 92
jclinic chains hold 45 distinct sequences), to separate the batching gain from the dedupe gain.
Padding fraction = padded tokens / all tokens of the batch tensors (BOS/EOS count as useful).
At 8M the runs are interleaved and repeated (--repeats, best of each: other load only slows).

Roofline: sgemm GFLOP/s measured with torch.matmul (float32, square n=2048, these threads, best
of 5), at the start and again after every repeat, the best of all kept (a rate measured while
other jobs held the cores would inflate every fraction). FLOPs per token = 2 * N_enc + 4 * n_layer * L * d (N_enc = parameters of the encoder
blocks; L = padded length of the batch in tokens incl. BOS/EOS; the 4Ld term is QK^T and AV).
- `ours.fraction_of_roofline`: unpadded FLOPs of what actually ran / seconds / sgemm rate (how
  well the machine is used), with `roofline_residues_run_per_s` the matching ceiling;
- `roofline.roofline_residues_per_s_every_chain`: the ceiling for embedding every chain (no
  dedupe, no padding); `ours_delivered_over_roofline` can exceed 1 thanks to dedupe.
`achieved_gflops` counts the FLOPs executed, padding included.

Architectures (random weights, seed 0): 8M = esm2_t6_8M_UR50D (6 layers, d=320, 20 heads, FFN
1280); 650M = esm2_t33_650M_UR50D (33 layers, d=1280, 20 heads, FFN 5120). On a 2-core CPU the
650M runs at ~100-200 residues/s, so by default it runs on a subset: the first proteins in file
order (a seeded random pick, so long and short ones mix) up to --max-residues-650M (2000)
residues; the JSON says which.

Variants besides ours: `ours_one_team_without_dedupe` (--one-team) runs the batches one after
the other on one intra-op thread team, as ours did before `batch_workers` (each batch on its own
single-threaded worker); `ours_bfloat16` (--dtypes float32,bfloat16) is the opt-in
`embedding.dtype: bfloat16`, timed against the bf16 matmul rate (`bf16_matmul_gflops`) and
compared with the float32 embeddings (`opt_in_bfloat16.difference_to_float32`: max/mean
absolute difference, per-residue and mean-pooled cosine). Every speed-up is given from the best
wall time of each variant, from the medians, and from CPU seconds (steadier when other jobs share
the cores; only intra-op spinning inflates them).

Sequences: the 42 jclinic proteins (../shared/data/jclinic, parsed with
esm_schnet.parse.parse_structure); where that is absent, the bundled example.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from esm_schnet.embed.batching import padding_fraction, plan_batches  # noqa: E402

ESM_VOCAB = (
    "<cls> <pad> <eos> <unk> L A G V S E R T I D P K Q N F Y M H W C X B U Z O . - <null_1> <mask>"
).split()
ARCH = {
    "8M": dict(num_hidden_layers=6, hidden_size=320, num_attention_heads=20, intermediate_size=1280),
    "650M": dict(num_hidden_layers=33, hidden_size=1280, num_attention_heads=20, intermediate_size=5120),
}


def load_proteins() -> tuple[str, list[tuple[str, list[str]]]]:
    """(source, [(id, [chain sequences])]) in file order."""
    from esm_schnet.parse import parse_structure

    shared = ROOT.parent / "shared" / "data" / "jclinic"
    if (shared / "labels.tsv").is_file():
        ids = [ln.split("\t")[0] for ln in (shared / "labels.tsv").read_text().splitlines()[1:] if ln.strip()]
        out = []
        for pid in ids:
            p = parse_structure(shared / "pdb" / f"{pid}.pdb", pid)
            out.append((pid, p.sequences))
        return "jclinic (../shared/data/jclinic, 42 PDB)", out
    from esm_schnet.core.samples import read_sample_table

    table = read_sample_table(ROOT / "resources" / "example" / "samples.tsv", require_labels=False)
    out = [(pid, parse_structure(row.structure, pid).sequences) for pid, row in table.iterrows()]
    return "bundled example (resources/example)", out


def write_random_checkpoint(arch: str, directory: Path) -> Path:
    import torch
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(ESM_VOCAB) + "\n")
    cfg = EsmConfig(
        vocab_size=33,
        position_embedding_type="rotary",
        token_dropout=True,
        emb_layer_norm_before=False,
        max_position_embeddings=1026,
        pad_token_id=1,
        mask_token_id=32,
        layer_norm_eps=1e-5,
        **ARCH[arch],
    )
    torch.manual_seed(0)
    EsmModel(cfg, add_pooling_layer=False).save_pretrained(directory)
    EsmTokenizer(str(directory / "vocab.txt")).save_pretrained(directory)
    return directory


def sgemm_gflops(n: int = 2048, reps: int = 5, trials: int = 5, dtype: str = "float32",
                 device: str = "cpu") -> float:
    """Best of `trials` timings of `reps` n x n matmuls in `dtype` on `device` (best: other load
    only slows)."""
    import torch

    a = torch.randn(n, n, dtype=getattr(torch, dtype), device=device)
    b = torch.randn(n, n, dtype=getattr(torch, dtype), device=device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    for _ in range(2):
        torch.matmul(a, b)
    best = 0.0
    for _ in range(trials):
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b)
        sync()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def batch_flops(lengths_in_batch: list[int], n_enc: int, n_layer: int, d: int) -> float:
    """FLOPs of one padded batch: tokens * (2 N_enc + 4 n_layer L d), L = padded length."""
    L = max(lengths_in_batch) + 2
    return len(lengths_in_batch) * L * (2 * n_enc + 4 * n_layer * L * d)


def run_ours(ckpt: Path, proteins, max_tokens: int, gflops: float, dedupe: bool = True, *,
             dtype: str = "float32", device: str = "cpu", workers: bool = True,
             keep: dict | None = None) -> dict:
    """Ours as `esm-schnet embed` runs it. workers=False: one intra-op thread team runs the
    batches one after the other (what ours did before batch_workers). `keep`: filled with
    sequence -> embedding (to compare dtypes)."""
    import contextlib

    from esm_schnet.embed.featurizers import get_featurizer
    from esm_schnet.embed.shard import embed_sequences

    f = get_featurizer(dict(model=str(ckpt), dtype=dtype, device=device))
    if not workers:
        f.batch_workers = lambda: contextlib.nullcontext(1)
    f.forward(["MKTAYIAKQRQISFVKSHFSRQ"])  # warm-up
    chains = [s for _, seqs in proteins for s in seqs]
    delivered = sum(map(len, chains))
    stats: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    out = embed_sequences(
        f, chains, window=1022, overlap=256, max_tokens=max_tokens, cache=None, stats=stats, dedupe=dedupe
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert sum(out[s][0].shape[0] for s in chains) == delivered
    if keep is not None:
        keep.update({s: a for s, (a, _) in out.items()})
    # the FLOPs of what ran (distinct chains, or every chain; windows for chains > 1022)
    from esm_schnet.embed.windows import window_spans

    pool = list(dict.fromkeys(chains)) if dedupe else chains
    segs = [s[a:b] for s in pool for a, b in window_spans(len(s), 1022, 256)]
    if dedupe:
        segs = list(dict.fromkeys(segs))
    lengths = [len(s) for s in segs]
    batches = plan_batches(lengths, max_tokens)
    cfg = f.model.config
    n_enc = sum(p.numel() for p in f.model.encoder.layer.parameters())
    flops = sum(batch_flops([lengths[i] for i in b], n_enc, cfg.num_hidden_layers, cfg.hidden_size) for b in batches)
    useful = sum(batch_flops([n], n_enc, cfg.num_hidden_layers, cfg.hidden_size) for n in lengths)
    roof_run = gflops * 1e9 / (useful / sum(lengths))
    return {
        "residues_per_s": round(delivered / seconds, 1),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "residues_per_cpu_s": round(delivered / cpu, 1),
        "padding_fraction": round(padding_fraction(lengths, batches), 4),
        "batches": len(batches),
        "batch_workers": stats.get("batch_workers", 1),
        "dtype": f.dtype,
        "max_tokens": max_tokens,
        "dedupe": dedupe,
        "sequences_run": len(segs),
        "residues_run": sum(lengths),
        "residues_run_per_s": round(sum(lengths) / seconds, 1),
        "achieved_gflops": round(flops / seconds / 1e9, 1),
        # compute efficiency: unpadded FLOPs of what ran, per second, over the sgemm rate
        "useful_gflops": round(useful / seconds / 1e9, 1),
        "roofline_residues_run_per_s": round(roof_run, 1),
        "fraction_of_roofline": round(useful / seconds / 1e9 / gflops, 3),
    }


def _time_batches(model, tok, seqs: list[str], batches: list[list[int]], hidden_states: bool) -> dict:
    """Run `batches` (index lists into `seqs`) through a transformers EsmModel as the baselines do
    (tokenizer padding to each batch's longest); time it; count padding and executed FLOPs."""
    import torch

    with torch.no_grad():
        model(**tok(["MKTAYIAKQRQISFVKSHFSRQ"], return_tensors="pt"))  # warm-up
    lengths = [len(s) for s in seqs]
    delivered, got = sum(lengths), 0
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for b in batches:
            batch = [seqs[i] for i in b]
            enc = tok(batch, padding=True, return_tensors="pt")
            if hidden_states:  # the full model, as the original analysis ran it
                h = model(**enc, output_hidden_states=True).hidden_states[-1]
            else:
                h = model(**enc).last_hidden_state
            for j, s in enumerate(batch):
                got += h[j, 1 : 1 + len(s)].numpy().shape[0]
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert got == delivered
    n_enc = sum(p.numel() for p in model.encoder.layer.parameters())
    cfg = model.config
    flops = sum(batch_flops([lengths[i] for i in b], n_enc, cfg.num_hidden_layers, cfg.hidden_size) for b in batches)
    return {
        "residues_per_s": round(delivered / seconds, 1),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "residues_per_cpu_s": round(delivered / cpu, 1),
        "padding_fraction": round(padding_fraction(lengths, batches), 4),
        "batches": len(batches),
        "achieved_gflops": round(flops / seconds / 1e9, 1),
    }


def run_naive(ckpt: Path, proteins, batch_size: int) -> dict:
    from transformers import AutoTokenizer, EsmModel

    model = EsmModel.from_pretrained(str(ckpt), attn_implementation="sdpa").eval()
    tok = AutoTokenizer.from_pretrained(str(ckpt))
    glued = ["".join(seqs) for _, seqs in proteins]
    batches = [list(range(i, min(i + batch_size, len(glued)))) for i in range(0, len(glued), batch_size)]
    return {**_time_batches(model, tok, glued, batches, hidden_states=True), "batch_size": batch_size}


def extract_batches(lengths: list[int], toks_per_batch: int, extra_toks_per_seq: int = 1) -> list[list[int]]:
    """esm/data.py FastaBatchedDataset.get_batch_indices, verbatim in behaviour."""
    sizes = sorted((n, i) for i, n in enumerate(lengths))
    batches, buf, max_len = [], [], 0
    for sz, i in sizes:
        sz += extra_toks_per_seq
        if max(sz, max_len) * (len(buf) + 1) > toks_per_batch and buf:
            batches.append(buf)
            buf, max_len = [], 0
        max_len = max(max_len, sz)
        buf.append(i)
    if buf:
        batches.append(buf)
    return batches


def run_extract(ckpt: Path, proteins, toks_per_batch: int) -> dict:
    from transformers import AutoTokenizer, EsmModel

    model = EsmModel.from_pretrained(str(ckpt), attn_implementation="sdpa", add_pooling_layer=False).eval()
    tok = AutoTokenizer.from_pretrained(str(ckpt))
    chains = [s for _, seqs in proteins for s in seqs]
    batches = extract_batches([len(s) for s in chains], toks_per_batch)
    return {**_time_batches(model, tok, chains, batches, hidden_states=False),
            "toks_per_batch": toks_per_batch}


def roofline(ckpt: Path, proteins, gflops: float, ours_rps: float) -> dict:
    """Roofline for embedding every chain of every protein (no dedupe, no padding)."""
    from transformers import EsmConfig

    cfg = EsmConfig.from_pretrained(str(ckpt))
    d, nl, ffn = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    # encoder block parameters: QKV + out (4 d^2 + 4d), FFN (2 d ffn + ffn + d), 2 LayerNorms (4d)
    n_enc = nl * (4 * d * d + 4 * d + 2 * d * ffn + ffn + d + 4 * d)
    chains = [s for _, seqs in proteins for s in seqs]
    delivered = sum(map(len, chains))
    flops = sum((len(s) + 2) * (2 * n_enc + 4 * nl * (len(s) + 2) * d) for s in chains)
    per_res = flops / delivered
    roof = gflops * 1e9 / per_res
    return {
        "n_params_encoder": n_enc,
        "gflop_per_residue": round(per_res / 1e9, 5),
        "roofline_residues_per_s_every_chain": round(roof, 1),
        "ours_delivered_over_roofline": round(ours_rps / roof, 3),
    }


def subset(proteins, max_residues: int | None, seed: int = 0):
    if not max_residues:
        return proteins, "all"
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(proteins))
    out, total = [], 0
    for i in order:
        n = sum(map(len, proteins[i][1]))
        if total + n > max_residues:
            continue
        out.append(proteins[i])
        total += n
    # keep the file order among the chosen ones (the naive baseline runs in file order)
    keep = {p[0] for p in out}
    return [p for p in proteins if p[0] in keep], f"{len(out)} proteins (seeded random subset, <= {max_residues} residues)"


def best_of(rs: list[dict]) -> dict:
    """The fastest of interleaved repeats, with every repeat's rate and the median."""
    r = dict(max(rs, key=lambda x: x["residues_per_s"]))
    rates = sorted(x["residues_per_s"] for x in rs)
    r["repeats"] = len(rs)
    r["all_residues_per_s"] = [x["residues_per_s"] for x in rs]
    r["median_residues_per_s"] = float(np.median(rates))
    r["best_residues_per_cpu_s"] = max(x["residues_per_cpu_s"] for x in rs)
    return r


def embedding_difference(ref: dict, other: dict) -> dict:
    """How far `other` (sequence -> [L, D]) is from `ref`: per element and per residue (cosine),
    and per protein after mean pooling (what a pooled downstream model would see)."""
    keys = [k for k in ref if k in other and len(k)]
    a = np.concatenate([ref[k] for k in keys]).astype(np.float64)
    b = np.concatenate([other[k] for k in keys]).astype(np.float64)
    diff = np.abs(a - b)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    pa = np.stack([ref[k].mean(0) for k in keys]).astype(np.float64)
    pb = np.stack([other[k].mean(0) for k in keys]).astype(np.float64)
    pcos = (pa * pb).sum(1) / (np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1))
    return {
        "sequences": len(keys),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "mean_abs_value": float(np.abs(a).mean()),
        "residue_cosine_mean": float(cos.mean()),
        "residue_cosine_min": float(cos.min()),
        "pooled_cosine_min": float(pcos.min()),
    }


def compare(ckpt: Path, prots, args, result: dict, repeats: int) -> dict:
    """Every variant of one architecture, interleaved `repeats` times, best (and median) of each
    (other load on the machine only slows a run down)."""
    gf = result["sgemm_gflops"]
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    variants = {
        "ours": lambda keep: run_ours(ckpt, prots, args.max_tokens, gf, keep=keep),
        "ours_without_dedupe": lambda keep: run_ours(ckpt, prots, args.max_tokens, gf, dedupe=False),
    }
    if args.one_team:  # what ours did before batch_workers: one intra-op team, batches in turn
        variants["ours_one_team_without_dedupe"] = lambda keep: run_ours(
            ckpt, prots, args.max_tokens, gf, dedupe=False, workers=False)
    if "bfloat16" in args.dtypes:  # opt-in (embedding.dtype: bfloat16), against the bf16 rate
        bf = result["bf16_matmul_gflops"]
        variants["ours_bfloat16"] = lambda keep: run_ours(
            ckpt, prots, args.max_tokens, bf, dtype="bfloat16", keep=keep)
        variants["ours_bfloat16_without_dedupe"] = lambda keep: run_ours(
            ckpt, prots, args.max_tokens, bf, dedupe=False, dtype="bfloat16")
    if "extract" in baselines:
        variants["extract"] = lambda keep: run_extract(ckpt, prots, args.toks_per_batch)
    if "naive" in baselines:
        variants["naive"] = lambda keep: run_naive(ckpt, prots, args.naive_batch)
    runs: dict[str, list] = {k: [] for k in variants}
    kept: dict[str, dict] = {"ours": {}, "ours_bfloat16": {}}
    for _ in range(max(1, repeats)):
        for name, run in variants.items():
            runs[name].append(run(kept.get(name)))
        # the matmul rates again after every repeat, the best kept: one measured while other
        # jobs held the cores would make every fraction of the roofline look too good
        result["sgemm_gflops"] = max(result["sgemm_gflops"], round(sgemm_gflops(), 1))
        if "bfloat16" in args.dtypes:
            result["bf16_matmul_gflops"] = max(result["bf16_matmul_gflops"],
                                               round(sgemm_gflops(dtype="bfloat16"), 1))
    for name, rs in runs.items():
        rate = result["bf16_matmul_gflops"] if "bfloat16" in name else result["sgemm_gflops"]
        for r in rs:
            if "useful_gflops" in r:
                r["fraction_of_roofline"] = round(r["useful_gflops"] / rate, 3)
                r["roofline_residues_run_per_s"] = round(
                    rate * r["residues_run_per_s"] / r["useful_gflops"], 1)
    gf = result["sgemm_gflops"]
    best = {name: best_of(rs) for name, rs in runs.items()}
    ours, nodedupe = best["ours"], best["ours_without_dedupe"]
    entry = {"residues": sum(sum(map(len, s)) for _, s in prots), **best}

    def ratio(a: str, b: str, key: str = "residues_per_s") -> float:
        return round(best[a][key] / best[b][key], 2)

    if "naive" in best:
        entry["speedup"] = ratio("ours", "naive")
        entry["speedup_without_dedupe"] = ratio("ours_without_dedupe", "naive")
    if "extract" in best:
        # default dtype (float32 on CPU): best wall time of each, and CPU seconds (steadier on
        # a shared machine), and the medians
        entry["speedup_vs_extract"] = ratio("ours", "extract")
        entry["speedup_vs_extract_without_dedupe"] = ratio("ours_without_dedupe", "extract")
        entry["speedup_vs_extract_median"] = ratio("ours", "extract", "median_residues_per_s")
        entry["speedup_vs_extract_without_dedupe_median"] = ratio(
            "ours_without_dedupe", "extract", "median_residues_per_s")
        entry["speedup_vs_extract_cpu_seconds"] = ratio("ours", "extract", "best_residues_per_cpu_s")
        entry["speedup_vs_extract_without_dedupe_cpu_seconds"] = ratio(
            "ours_without_dedupe", "extract", "best_residues_per_cpu_s")
        if "ours_one_team_without_dedupe" in best:
            entry["speedup_vs_extract_one_team_without_dedupe"] = ratio(
                "ours_one_team_without_dedupe", "extract")
        if "ours_bfloat16" in best:  # opt-in, reported apart from the default
            entry["opt_in_bfloat16"] = {
                "speedup_vs_extract": ratio("ours_bfloat16", "extract"),
                "speedup_vs_extract_without_dedupe": ratio("ours_bfloat16_without_dedupe", "extract"),
                "speedup_vs_extract_median": ratio("ours_bfloat16", "extract", "median_residues_per_s"),
                "speedup_vs_float32_ours": ratio("ours_bfloat16", "ours"),
                "fraction_of_bf16_roofline": best["ours_bfloat16_without_dedupe"]["fraction_of_roofline"],
                "difference_to_float32": embedding_difference(kept["ours"], kept["ours_bfloat16"]),
            }
    entry["roofline"] = roofline(ckpt, prots, gf, ours["residues_per_s"])
    # compute efficiency of what ran (ours without dedupe: every chain), vs sgemm
    entry["fraction_of_cpu_roofline"] = nodedupe["fraction_of_roofline"]
    return entry


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="8M,650M", help="comma-separated: 8M, 650M")
    ap.add_argument("--max-residues", type=int, default=None, help="subset for every model (default: all)")
    ap.add_argument("--max-residues-650M", type=int, default=2000, help="subset for 650M (0 = all)")
    ap.add_argument("--max-tokens", type=int, default=8192, help="our token budget")
    ap.add_argument("--naive-batch", type=int, default=8)
    ap.add_argument("--toks-per-batch", type=int, default=4096, help="extract.py baseline budget")
    ap.add_argument("--baselines", default="naive,extract", help="comma-separated: naive, extract")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats at 8M (best of each)")
    ap.add_argument("--repeats-650M", type=int, default=1, help="interleaved repeats at 650M")
    ap.add_argument("--dtypes", default="float32",
                    help="comma-separated: float32 (the CPU default), bfloat16 (opt-in, also timed)")
    ap.add_argument("--one-team", action="store_true",
                    help="also time ours with one intra-op thread team (before batch_workers)")
    args = ap.parse_args(argv)

    import torch
    import transformers

    torch.set_num_threads(args.threads)
    source, proteins = load_proteins()
    cpu = platform.processor() or ""
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lens = [sum(map(len, s)) for _, s in proteins]
    result = {
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "torch_threads": args.threads,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "device": "cpu",
        },
        "data": {
            "source": source,
            "proteins": len(proteins),
            "chains": sum(len(s) for _, s in proteins),
            "residues": sum(lens),
            "max_protein_residues": max(lens),
            "proteins_over_1024": sum(n > 1024 for n in lens),
            "max_chain_residues": max(len(c) for _, s in proteins for c in s),
        },
        "sgemm_gflops": round(sgemm_gflops(), 1),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "models": {},
    }
    if "bfloat16" in args.dtypes:
        result["bf16_matmul_gflops"] = round(sgemm_gflops(dtype="bfloat16"), 1)
    with tempfile.TemporaryDirectory(prefix="esm_bench_") as tmp:
        for arch in [m.strip() for m in args.models.split(",") if m.strip()]:
            limit = args.max_residues
            if arch == "650M" and limit is None:
                limit = args.max_residues_650M or None
            prots, which = subset(proteins, limit)
            ckpt = write_random_checkpoint(arch, Path(tmp) / arch)
            result["models"][arch] = compare(ckpt, prots, args, result, repeats=(
                args.repeats if arch == "8M" else args.repeats_650M))
            result["models"][arch] = {"architecture": ARCH[arch], "proteins": which,
                                      **result["models"][arch]}
            for f in Path(ckpt).glob("*.safetensors"):
                f.unlink()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
