"""bench/gpu.py on a machine without CUDA: one JSON object saying why it skipped, exit 0."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_bench_skips_cleanly_without_cuda():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hides any GPU: the skip path everywhere
    res = subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert out["benchmark"] == "gpu"
    assert "no CUDA device" in out["skipped"] and "torch.cuda.is_available() is False" in out["skipped"]


def test_datasheet_names_match_the_specific_model_first():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import gpu
    finally:
        sys.path.remove(str(REPO / "bench"))
    assert gpu.datasheet_bf16_tflops("NVIDIA H100 PCIe") == 756.0
    assert gpu.datasheet_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert gpu.datasheet_bf16_tflops("NVIDIA L40S") == 362.0
    assert gpu.datasheet_bf16_tflops("NVIDIA L4") == 121.0
    assert gpu.datasheet_bf16_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert gpu.datasheet_bf16_tflops("Tesla T4") is None
