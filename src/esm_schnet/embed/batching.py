"""Length-sorted batches under a token budget that counts special tokens and padding exactly.

A batch of n sequences whose longest has m residues is a tensor of n x (m + s) tokens, s = the
featurizer's `special_tokens` (ESM2: BOS and EOS, s = 2, the default here; ProtT5: EOS only,
s = 1), shorter sequences padded to the longest. `plan_batches` sorts the sequences by
length, longest first (so an out-of-memory error shows up in the first batch, not the last), and
cuts the sorted list into consecutive batches, each within the budget n * (m + s) <= max_tokens.
Where to cut is chosen by dynamic programming to minimise the total batch-tensor tokens
(padding included) plus a fixed cost per batch (`max_tokens // 32` tokens, standing for the
per-forward overhead), instead of filling every batch to the brim: on small or spread-out sets a
full budget pads a lot (e.g. 37% on the 42 jclinic proteins with greedy filling at 8192 tokens).
A sequence whose own m + s exceeds the budget gets a batch of its own (nothing is dropped).

`run_batches` runs a forward function over the plan; on a CUDA out-of-memory error it halves the
batch (and the budget for the rest of the job), logs it, and goes on. With `workers` > 1 (CPU:
the featurizer's `batch_workers()`, one single-threaded worker per torch thread) the same batches
run side by side, `workers` at a time (so up to `workers` x `max_tokens` tokens are in flight;
the plan, and so every result, is the same for any number of workers). On a CPU an intra-op thread team meets at a barrier after
every operator, which for ESM2-8M's small matrices costs more than the work and collapses when
the cores are shared; independent single-threaded batches have no barriers (measured in docs/performance.md,
Performance).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

log = logging.getLogger("esm_schnet.embed.batching")

SPECIAL_TOKENS = 2  # BOS (<cls>) + EOS


def padded_tokens(lengths: Sequence[int], special: int = SPECIAL_TOKENS) -> int:
    """Tokens of one batch tensor: n * (max length + special)."""
    return len(lengths) * (max(lengths) + special) if len(lengths) else 0


def _order(lengths: Sequence[int]) -> list[int]:
    # Longest first; ties by input position (stable, deterministic).
    return sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))


def _plan_sorted(lens: Sequence[int], max_tokens: int, special: int = SPECIAL_TOKENS) -> list[tuple[int, int]]:
    """Optimal cut of a descending length list into [i, j) batches (see module doc)."""
    n = len(lens)
    overhead = max(1, max_tokens // 32)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for i in range(n):  # batch starting at i: its width is lens[i] + 2 (the longest)
        if best[i] == float("inf"):
            continue
        width = lens[i] + special
        cap = max(1, max_tokens // width)
        base = best[i] + overhead
        for j in range(i + 1, min(n, i + cap) + 1):
            cost = base + (j - i) * width
            if cost < best[j]:
                best[j] = cost
                cut[j] = i
    spans, j = [], n
    while j > 0:
        spans.append((cut[j], j))
        j = cut[j]
    return spans[::-1]


def plan_batches(lengths: Sequence[int], max_tokens: int, special: int = SPECIAL_TOKENS) -> list[list[int]]:
    """Indices of `lengths` grouped into batches; every batch satisfies
    len(batch) * (max(lengths in batch) + special) <= max_tokens, except a single over-long
    sequence."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    order = _order(lengths)
    spans = _plan_sorted([lengths[i] for i in order], max_tokens, special)
    return [order[a:b] for a, b in spans]


def padding_fraction(lengths: Sequence[int], batches: list[list[int]], special: int = SPECIAL_TOKENS) -> float:
    """Fraction of batch-tensor tokens that are padding (special tokens count as useful)."""
    total = sum(padded_tokens([lengths[i] for i in b], special) for b in batches)
    useful = sum(lengths[i] + special for b in batches for i in b)
    return 0.0 if total == 0 else 1.0 - useful / total


def _is_oom(exc: BaseException) -> bool:
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def run_batches(
    sequences: Sequence[str],
    forward: Callable[[list[str]], list[np.ndarray]],
    max_tokens: int,
    *,
    progress: Callable | None = None,
    special: int = SPECIAL_TOKENS,
    workers: int = 1,
) -> list[np.ndarray]:
    """Embed `sequences` in length-sorted token-budget batches; results in input order.

    On an out-of-memory error the failing batch is halved (the budget too, for the remaining
    batches) and retried; a single sequence that does not fit re-raises the error. `workers` > 1
    runs that many batches of the same plan at once in threads (`forward` must be thread-safe); errors are raised as they are (no re-plan: this is the
    CPU path, where memory errors are not recoverable exceptions).
    """
    lengths = [len(s) for s in sequences]
    results: list[np.ndarray | None] = [None] * len(sequences)
    budget = max_tokens
    queue = plan_batches(lengths, budget, special)
    bar = progress(total=sum(lengths)) if progress is not None else None
    if workers > 1 and len(queue) > 1:
        # longest batches first, each worker taking the next one when it is free
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
            futures = {pool.submit(forward, [sequences[i] for i in b]): b for b in queue}
            try:
                for fut in as_completed(futures):
                    batch = futures[fut]
                    for i, arr in zip(batch, fut.result(), strict=True):
                        results[i] = arr
                    if bar is not None:
                        bar.update(sum(lengths[i] for i in batch))
            except BaseException:
                for fut in futures:  # do not start what is still queued
                    fut.cancel()
                raise
        queue = []
    while queue:
        batch = queue.pop(0)
        out = None
        try:
            out = forward([sequences[i] for i in batch])
        except Exception as exc:  # noqa: BLE001 - only OOM is handled
            if not _is_oom(exc):
                raise
            if len(batch) == 1:
                log.error(
                    "out of memory on a single sequence of %d residues; lower embedding.window",
                    lengths[batch[0]],
                )
                raise
        if out is None:
            # Out of memory. Freed only here, after the except block: while the exception is
            # alive its traceback holds the failed forward's frames and their tensors.
            _free_cuda()
            tokens = padded_tokens([lengths[i] for i in batch], special)
            budget = max(1, tokens // 2)
            log.warning(
                "out of memory on a batch of %d sequences (%d tokens): halving it "
                "(budget now %d tokens for the rest of this job)",
                len(batch),
                tokens,
                budget,
            )
            rest = batch + [i for b in queue for i in b]
            sub = [lengths[i] for i in rest]
            queue = [[rest[k] for k in b] for b in plan_batches(sub, budget, special)]
            continue
        for i, arr in zip(batch, out, strict=True):
            results[i] = arr
        if bar is not None:
            bar.update(sum(lengths[i] for i in batch))
    if bar is not None:
        bar.close()
    return results  # type: ignore[return-value]


def _free_cuda() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass
