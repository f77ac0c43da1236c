import numpy as np
import pytest

from esm_schnet.embed.windows import owners, stitch, window_spans


def test_short_chain_is_one_span():
    assert window_spans(10, 32, 8) == [(0, 10)]
    assert window_spans(32, 32, 8) == [(0, 32)]


@pytest.mark.parametrize("n,window,overlap", [(33, 32, 8), (100, 32, 8), (1500, 1022, 256), (4000, 1022, 0)])
def test_spans_cover_with_overlap(n, window, overlap):
    spans = window_spans(n, window, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(e - s == window for s, e in spans)
    for (s1, e1), (s2, _e2) in zip(spans, spans[1:]):
        assert e1 - s2 >= overlap  # consecutive windows overlap by at least `overlap`
    own = owners(n, spans)
    for i in range(n):
        s, e = spans[own[i]]
        assert s <= i < e
        best = max(min(i - a, b - 1 - i) for a, b in spans if a <= i < b)
        assert min(i - s, e - 1 - i) == best


def test_bad_overlap():
    with pytest.raises(ValueError):
        window_spans(100, 32, 32)


def test_stitch_copies_from_owner():
    n, spans = 50, window_spans(50, 20, 6)
    arrays = [np.full((20, 1), j, dtype=np.float32) for j in range(len(spans))]
    out = stitch(n, spans, arrays)
    assert out.shape == (n, 1)
    assert np.array_equal(out[:, 0], owners(n, spans).astype(np.float32))
