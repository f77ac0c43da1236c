import numpy as np
import pytest
import torch

from esm_schnet.encoders.graph import build_graph, check_edges, collate, radius_graph


def brute_force(pos: np.ndarray, cutoff: float):
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return d, {(j, i) for i, j in zip(*np.nonzero(d <= cutoff))}


@pytest.mark.parametrize("cutoff", [3.0, 8.0, 20.0])
def test_radius_graph_matches_brute_force(cutoff):
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(70, 3)).astype(np.float32) * 6
    ei, dist = radius_graph(torch.from_numpy(pos), cutoff)
    d, expected = brute_force(pos, cutoff)
    got = set(map(tuple, ei.T.tolist()))
    assert got == expected
    assert float(dist.max()) <= cutoff
    assert (ei[0] != ei[1]).all()
    np.testing.assert_allclose(dist.numpy(), d[ei[1].numpy(), ei[0].numpy()], rtol=1e-6)
    # sorted by target (what the aggregation relies on for locality, and documented)
    assert (ei[1][1:] >= ei[1][:-1]).all()


def test_row_chunks_give_the_same_graph(monkeypatch):
    import esm_schnet.encoders.graph as graph

    pos = torch.randn(300, 3) * 10
    full = radius_graph(pos, 12.0)
    monkeypatch.setattr(graph, "ROW_CHUNK", 37)
    chunked = radius_graph(pos, 12.0)
    assert torch.equal(full[0], chunked[0]) and torch.equal(full[1], chunked[1])


def test_no_edges_between_graphs_of_a_batch():
    pos = torch.zeros(6, 3)
    pos[:, 0] = torch.arange(6.0)  # all within 20 A of each other
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    ei, _ = radius_graph(pos, 20.0, batch)
    assert (batch[ei[0]] == batch[ei[1]]).all()
    assert ei.size(1) == 2 * 6  # 3*2 per graph


def test_nearest_k_cap_keeps_the_nearest():
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(60, 3)).astype(np.float32) * 5
    k, cutoff = 5, 9.0
    ei, dist = radius_graph(torch.from_numpy(pos), cutoff, max_neighbors=k)
    d, _ = brute_force(pos, cutoff)
    for i in range(len(pos)):
        mine = sorted(ei[0][ei[1] == i].tolist())
        order = np.argsort(d[i], kind="stable")
        nearest = sorted(j for j in order[:k] if d[i, j] <= cutoff)
        assert mine == nearest
    assert float(dist.max()) <= cutoff


def test_uncapped_graph_keeps_every_neighbour():
    # a dense cluster: every residue has 99 neighbours, far above PyG's silent default of 32
    pos = torch.randn(100, 3)
    ei, _ = radius_graph(pos, 20.0)
    assert ei.size(1) == 100 * 99


def test_check_edges_refuses_long_edges():
    ei = torch.tensor([[0], [1]])
    with pytest.raises(AssertionError, match="exceeds the cutoff"):
        check_edges(ei, torch.tensor([10.5]), 10.0)


def test_collate_offsets():
    g1 = build_graph("a", torch.randn(4, 5), torch.randn(4, 3), 20.0, y=1.0)
    g2 = build_graph("b", torch.randn(3, 5), torch.randn(3, 3), 20.0, y=2.0)
    b = collate([g1, g2])
    assert b.x.shape == (7, 5) and b.batch.tolist() == [0] * 4 + [1] * 3
    assert b.edge_index.size(1) == g1.num_edges + g2.num_edges
    assert (b.edge_index[:, g1.num_edges:] >= 4).all()
    assert b.y.tolist() == [1.0, 2.0] and b.num_nodes.tolist() == [4.0, 3.0]
