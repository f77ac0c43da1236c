import pytest

from esm_schnet.core.device import resolve_device
from esm_schnet.core.errors import ConfigError


def test_resolve_device():
    import torch

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="embedding.device is 'cuda'"):
            resolve_device("cuda", setting="embedding.device")
