import numpy as np
import pytest

from esm_schnet.embed.batching import padded_tokens, padding_fraction, plan_batches, run_batches


def test_empty_input():
    assert plan_batches([], 100) == []
    assert run_batches([], lambda s: [], 100) == []
    assert padding_fraction([], []) == 0.0


def test_budget_counts_bos_eos_and_padding_exactly():
    # 4 sequences of 8 residues: each is 10 tokens with BOS/EOS; a 40-token budget fits 4 in one
    assert [len(b) for b in plan_batches([8, 8, 8, 8], 40)] == [4]
    assert sorted(len(b) for b in plan_batches([8, 8, 8, 8], 39)) in ([1, 3], [2, 2])
    # padding counts: 10 and 9 residues are 2 x (10 + 2) = 24 tokens, not 12 + 11 = 23
    assert plan_batches([10, 10], 24) == [[0, 1]]
    assert plan_batches([10, 9], 23) == [[0], [1]]
    assert plan_batches([10, 10], 23) == [[0], [1]]


def test_cuts_where_padding_costs_more_than_a_batch():
    lengths = [100, 10, 10, 10]
    batches = plan_batches(lengths, 1000)  # all four fit in the budget (4 x 102 = 408 tokens)
    assert batches == [[0], [1, 2, 3]]
    assert padding_fraction(lengths, batches) == 0.0
    assert padding_fraction(lengths, [[0, 1, 2, 3]]) > 0.5


@pytest.mark.parametrize("budget", [12, 50, 97, 400])
def test_every_batch_within_budget_and_all_indices_once(budget):
    rng = np.random.default_rng(1)
    lengths = list(rng.integers(1, 60, size=57))
    batches = plan_batches(lengths, budget)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or padded_tokens([lengths[i] for i in b]) <= budget
        # length-sorted: longest first inside and across batches
        ls = [lengths[i] for i in b]
        assert ls == sorted(ls, reverse=True)


def test_over_budget_sequence_gets_its_own_batch():
    batches = plan_batches([5, 100, 5, 5], 30)
    assert batches[0] == [1]
    assert sorted(i for b in batches[1:] for i in b) == [0, 2, 3]
    assert all(padded_tokens([[5, 100, 5, 5][i] for i in b]) <= 30 for b in batches[1:])


def test_run_batches_returns_input_order():
    seqs = ["A" * n for n in (3, 9, 1, 9, 4)]
    out = run_batches(seqs, lambda batch: [np.full((len(s), 1), len(s)) for s in batch], 24)
    assert [o.shape[0] for o in out] == [3, 9, 1, 9, 4]


def test_oom_halves_the_batch(caplog):
    import torch

    sizes = []

    def forward(batch):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate")
        return [np.zeros((len(s), 2)) for s in batch]

    seqs = ["M" * 10] * 8
    with caplog.at_level("WARNING", logger="esm_schnet"):
        out = run_batches(seqs, forward, max_tokens=12 * 8)
    assert len(out) == 8 and all(o.shape == (10, 2) for o in out)
    assert sizes[:3] == [8, 4, 2]
    assert "halving" in caplog.text


def test_oom_on_single_sequence_raises():
    import torch

    def forward(batch):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_batches(["A" * 5], forward, 100)


def test_workers_run_the_same_plan_concurrently_in_input_order():
    import threading

    seqs = ["A" * n for n in (3, 9, 1, 9, 4, 7, 2, 8)]
    threads, calls = set(), []
    both_in = threading.Barrier(2, timeout=10)

    def forward(batch):
        threads.add(threading.get_ident())
        calls.append(sorted(len(s) for s in batch))
        if len(calls) <= 2:
            both_in.wait()  # the first two batches must be running at the same time
        return [np.full((len(s), 1), len(s)) for s in batch]

    out = run_batches(seqs, forward, 24, workers=2)
    assert [o.shape[0] for o in out] == [len(s) for s in seqs]
    assert [int(o[0, 0]) for o in out] == [len(s) for s in seqs]
    assert len(threads) == 2
    plan = [sorted(len(seqs[i]) for i in b) for b in plan_batches([len(s) for s in seqs], 24)]
    assert sorted(calls) == sorted(plan)  # the same batches as one worker would run


def test_workers_raise_the_forward_error():
    def forward(batch):
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        run_batches(["A" * 5, "C" * 30, "D" * 40], forward, 40, workers=2)


def test_oom_memory_freed_after_the_exception_is_gone(monkeypatch):
    # while the OOM exception is alive its traceback holds the failed forward's tensors, so
    # emptying the CUDA cache inside the except block would free nothing
    import sys

    import torch

    from esm_schnet.embed import batching

    active = []
    monkeypatch.setattr(batching, "_free_cuda", lambda: active.append(sys.exc_info()[1]))

    def forward(batch):
        if len(batch) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return [np.zeros((len(s), 2)) for s in batch]

    out = run_batches(["M" * 10] * 4, forward, max_tokens=12 * 4)
    assert len(out) == 4 and active and all(e is None for e in active)
