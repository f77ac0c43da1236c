"""`make-example --fast`: the scale set (esm_schnet.example.scale) for large-N benchmarks."""

from __future__ import annotations

import numpy as np
import pytest

from esm_schnet.example import label_of
from esm_schnet.example.cli import cli
from esm_schnet.example.scale import fold_pool, make_scale_dataset, scale_protein


@pytest.fixture(scope="module")
def pool():
    return fold_pool(2, seed=3)


def test_protein_i_is_independent_of_n_and_deterministic(pool):
    a = [scale_protein(i, pool, seed=3) for i in range(6)]
    b = [scale_protein(i, pool, seed=3) for i in range(3)]
    for p, q in zip(a, b):
        assert p.id == q.id and p.chains[0].sequence == q.chains[0].sequence
        assert np.array_equal(p.chains[0].backbone, q.chains[0].backbone) and p.label == q.label
    assert [p.id for p in a] == [f"ex{i:05d}" for i in range(1, 7)]
    # fresh sequences and poses, from the pool's backbones only
    assert len({p.chains[0].sequence for p in a}) == 6
    assert {len(p.chains[0]) for p in a} <= {len(c) for c in pool}
    same = [p for p in a if len(p.chains[0]) == len(a[0].chains[0])]
    if len(same) > 1:
        assert not np.allclose(same[0].chains[0].backbone, same[1].chains[0].backbone)
        seq0, seq1 = same[0].chains[0].sequence, same[1].chains[0].sequence
        assert sum(x == y for x, y in zip(seq0, seq1)) / len(seq0) < 0.3
    for p in a:
        c = p.chains[0]
        clean = label_of(c.sequence, c.ca, np.zeros(len(c), int))
        assert clean == pytest.approx(p.label_clean, abs=1e-6)


def test_cli_fast_writes_a_table_without_groups(tmp_path):
    assert cli(["--out", str(tmp_path), "--n", "4", "--seed", "1", "--fast", "--pool", "1"]) == 0
    rows = (tmp_path / "samples.tsv").read_text().splitlines()
    assert rows[0] == "id\tstructure\tlabel" and len(rows) == 5
    assert sorted(p.name for p in (tmp_path / "structures").iterdir()) == [
        f"ex{i:05d}.pdb" for i in range(1, 5)]
    assert "--fast --pool 1" in (tmp_path / "README.md").read_text()
    with pytest.raises(SystemExit):
        cli(["--out", str(tmp_path), "--n", "4", "--pool", "3"])  # --pool needs --fast
    with pytest.raises(ValueError):
        make_scale_dataset(0)
