"""`esm2`: ESM2 through transformers (`EsmModel`, SDPA), from a hub id or a local directory.

The catch-all of the registry: any `embedding.model` that no other featurizer claims is a
Hugging Face hub id (`facebook/esm2_t6_8M_UR50D`) or a local checkpoint directory (anything that
exists as a directory, or starts with '/', '.', '~').

The featurizer (`EsmEmbedder`) has `id` (as configured), `revision` (the hub commit, or
`sha256:<hash of the weight files>` for a local directory), `layer` (resolved hidden-state
index, 0 = token embeddings, n_layers = last), `dtype` (compute dtype name), `device`, `dim`,
`window` (1022: ESM2's training crops), `cacheable` (True), `kind` (`language model`), and
`forward(sequences)` over ONE batch (the caller batches); `n_sequences_run` counts the sequences
passed to the model.

Weights are never downloaded here: inside compute jobs everything is `local_files_only`. A hub id
is looked up in `<models_dir>/<tag>/` (written by `esm-schnet download-model`, i.e. the
`download_model` rule) and then in the Hugging Face cache; if neither has it the error says how to
fix it. There is no fallback to other features.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.core.files import write_json
from esm_schnet.embed.source import MARKER, download_dir, read_marker, source_kind
from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL
from esm_schnet.embed.featurizers.hub import HubFeaturizer, pretrained_kwargs  # noqa: F401 - pretrained_kwargs re-exported

log = logging.getLogger("esm_schnet.embed.featurizers.esm2")

NAME = "esm2"
# ESM2 was trained on crops of 1024 tokens: 1022 residues + BOS + EOS.
ESM_WINDOW = 1022
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model.bin")
DOWNLOAD_PATTERNS = [
    "config.json",
    "*.safetensors",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
]


class ModelNotAvailableError(EsmSchnetError):
    """The configured model's weights cannot be found (and we never download inside a job)."""


def resolve_dtype(dtype: str, device) -> "torch.dtype":  # noqa: F821
    """auto: bfloat16 on CUDA, float32 elsewhere."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            dtype
        ]
    except KeyError:
        raise EsmSchnetError(f"unknown embedding.dtype {dtype!r}") from None


def _missing_message(model: str, revision: str, models_dir: str | os.PathLike, detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (
        f"ESM2 weights for {model!r} (revision {revision!r}) are not on this machine: looked in "
        f"{download_dir(model, models_dir)} and the Hugging Face cache{extra}. Fix: connect to the "
        f"internet once and run `snakemake download_model` (or `esm-schnet download-model --model "
        f"{model} --revision {revision} --models-dir {models_dir}`), or set embedding.model to a "
        f"local checkpoint directory, or to `onehot` (no weights)"
    )


def weights_hash(directory: str | os.PathLike) -> str:
    """sha256 over the weight files and config.json of a checkpoint directory (sorted by name)."""
    d = Path(directory)
    files = sorted({p for pat in WEIGHT_PATTERNS for p in d.glob(pat)} | {d / "config.json"})
    h = hashlib.sha256()
    for p in files:
        if not p.is_file():
            continue
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 23), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


def needs_download(model: str) -> bool:
    return source_kind(model) == "hub"


class EsmEmbedder(HubFeaturizer):
    """ESM2 (`transformers.EsmModel`, SDPA attention) returning one hidden layer per residue.

    The model is cut after the requested layer (later layers and the final LayerNorm are not run
    unless the last layer is asked for), there is no pooler and no LM head, and inference runs
    under `torch.inference_mode`. `layer`: hidden_states index, 0 = token embeddings, k = output of
    block k, -1 (or n_layers) = last block after the final LayerNorm (as fair-esm's
    `repr_layers=[n]` and `last_hidden_state`).
    """

    special_tokens = 2  # <cls> + <eos>
    # Rotary positions have no hard limit, but ESM2 was trained on 1022-residue crops.
    window_size = ESM_WINDOW
    compute_dtype = staticmethod(resolve_dtype)

    def load_pretrained(self, path, kwargs, tok_kwargs):
        from transformers import AutoTokenizer, EsmModel

        model = EsmModel.from_pretrained(path, add_pooling_layer=False, **kwargs)
        model.contact_head = None
        return model, AutoTokenizer.from_pretrained(path, **tok_kwargs)

    def truncate(self, model, k):
        # Keep blocks 1..k; hidden state k is the block's output before the final LayerNorm.
        model.encoder.layer = model.encoder.layer[:k]
        model.encoder.emb_layer_norm_after = None

    @property
    def prefix_ids(self):
        return (self.cls_id,)

    def token_table(self, tokenizer):
        # ESM's tokenizer maps each residue letter to one token; the tests check equality.
        self.cls_id = tokenizer.cls_token_id
        table = np.full(256, tokenizer.unk_token_id, dtype=np.int64)
        for tok, idx in tokenizer.get_vocab().items():
            if len(tok) == 1:
                table[ord(tok)] = idx
        return table


def locate(
    model: str,
    revision: str,
    models_dir: str | os.PathLike,
    *,
    label: str = "ESM2",
) -> tuple[str | Path, str | None]:
    """(path to load from, weights identity) of a hub id or a local checkpoint directory; never
    downloads. A hub id resolves to `<models_dir>/<tag>/` once its download marker is there;
    otherwise (path = the hub id, identity None) the caller loads it from the Hugging Face cache
    with `local_files_only` and reports a miss with `missing_message`. Shared by the
    transformers featurizers (ESM2, ProtT5)."""
    if source_kind(model) == "local":
        path = Path(os.path.expanduser(model))
        if not path.is_dir():
            raise ModelNotAvailableError(
                f"embedding.model {model!r}: no such directory (a local {label} checkpoint directory "
                f"with config.json and weights is expected; or use a hub id, or `onehot`)"
            )
        if not (path / "config.json").is_file():
            raise ModelNotAvailableError(
                f"embedding.model {model!r}: {path / 'config.json'} not found (not a transformers "
                f"checkpoint directory)"
            )
        rid = weights_hash(path)
        log.info("loading %s from local directory %s (%s)", label, path, rid)
        return path, rid
    local = download_dir(model, models_dir)
    if (local / "config.json").is_file():
        marker = read_marker(local / MARKER)
        if marker is None:
            raise ModelNotAvailableError(
                f"{local} has no {MARKER}: the download of {model!r} did not finish; rerun "
                f"`snakemake download_model` (or `esm-schnet download-model --model {model}`)"
            )
        if marker.get("revision") != revision:
            raise ModelNotAvailableError(
                f"{local} holds revision {marker.get('revision')!r} of {model!r} but "
                f"embedding.revision is {revision!r}: rerun `snakemake download_model`"
            )
        log.info("loading %s (commit %s) from %s", model, marker.get("commit"), local)
        return local, marker.get("commit") or weights_hash(local)
    return model, None


def missing_message(model, revision, models_dir, exc: BaseException, label: str = "ESM2") -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _missing_message(model, revision, models_dir, detail[:200]).replace("ESM2 weights", f"{label} weights", 1)


def load_checkpoint(
    cls: type[HubFeaturizer],
    model: str,
    *,
    revision: str = "main",
    layer: int = -1,
    dtype: str = "auto",
    device: str = "auto",
    models_dir: str | os.PathLike = "resources/models",
    label: str = "ESM2",
) -> HubFeaturizer:
    """A transformers featurizer (`cls`) from a hub id or a local directory; never downloads.
    Shared by ESM2 and ProtT5."""
    path, rid = locate(model, revision, models_dir, label=label)
    try:
        return cls(path, model_id=model, revision=revision, layer=layer, dtype=dtype,
                   device=device, revision_id=rid)
    except OSError as exc:
        if rid is not None:
            raise
        raise ModelNotAvailableError(missing_message(model, revision, models_dir, exc, label)) from None


def create_from(cls: type[HubFeaturizer], cfg, label: str = "ESM2") -> HubFeaturizer:
    """Registry factory body: `cls` for the embedding settings (an EmbedConfig)."""
    return load_checkpoint(cls, cfg.model, revision=cfg.revision, layer=cfg.layer, dtype=cfg.dtype,
                           device=cfg.device, models_dir=cfg.models_dir, label=label)


def load(model: str, **kwargs) -> EsmEmbedder:
    """ESM2 from a hub id or a local directory; never downloads (keyword arguments as
    `load_checkpoint`: revision, layer, dtype, device, models_dir)."""
    return load_checkpoint(EsmEmbedder, model, **kwargs)


def create(cfg) -> EsmEmbedder:
    """Registry factory: the featurizer for the embedding settings (an EmbedConfig)."""
    return create_from(EsmEmbedder, cfg)


def download_model(
    model: str,
    revision: str = "main",
    models_dir: str | os.PathLike = "resources/models",
    *,
    patterns: list[str] | tuple[str, ...] = tuple(DOWNLOAD_PATTERNS),
) -> Path:
    """Fetch a hub model's weights and tokenizer into <models_dir>/<tag>/ and write the marker.

    Online: resolves `revision` to a commit and downloads that commit (safetensors preferred).
    Offline: copies the files from the Hugging Face cache if they are there. Else a clear error.
    Returns the marker path.
    """
    if source_kind(model) != "hub":
        raise EsmSchnetError(f"embedding.model {model!r} is not a hub id: nothing to download")
    dest = download_dir(model, models_dir)
    dest.mkdir(parents=True, exist_ok=True)
    from huggingface_hub import HfApi, snapshot_download

    patterns = list(patterns)
    try:
        info = HfApi().model_info(model, revision=revision)
        commit = info.sha
        names = [s.rfilename for s in (info.siblings or [])]
        if not any(n.endswith(".safetensors") for n in names):
            patterns.append("pytorch_model.bin")
        log.info("downloading %s at %s (commit %s) into %s", model, revision, commit, dest)
        snapshot_download(model, revision=commit, local_dir=dest, allow_patterns=patterns)
        source = "hub"
    except Exception as online_exc:  # noqa: BLE001 - any network/hub failure: try the cache
        detail = (str(online_exc).strip().splitlines() or [type(online_exc).__name__])[0][:200]
        log.warning("cannot reach the hub (%s); trying the Hugging Face cache", detail)
        try:
            snap = Path(
                snapshot_download(
                    model,
                    revision=revision,
                    local_files_only=True,
                    allow_patterns=patterns + ["pytorch_model.bin"],
                )
            )
        except Exception:  # noqa: BLE001
            raise ModelNotAvailableError(
                f"cannot download {model!r} (revision {revision!r}): {detail}; it is not in the "
                f"Hugging Face cache either. Fix: run this once on a machine with internet access "
                f"(on a cluster: the login node), or set embedding.model to a local checkpoint "
                f"directory, or to `onehot` (no weights)"
            ) from None
        commit = snap.name
        for f in snap.iterdir():
            if f.is_file():
                shutil.copyfile(f, dest / f.name)
        source = "hf-cache"
    if not (dest / "config.json").is_file():
        raise ModelNotAvailableError(f"{model!r}: the download has no config.json (not a transformers model?)")
    marker = dest / MARKER
    write_json(marker, {"model": model, "revision": revision, "commit": commit, "source": source})
    log.info("wrote %s", marker)
    return marker


def setup(register) -> None:
    """Register ESM2 with the featurizer registry (its `register`; registry.load_builtins)."""
    register(
        lambda model: True,  # the catch-all: hub ids and local directories
        create,
        name=NAME,
        kind=LANGUAGE_MODEL,
        needs_download=needs_download,
        download=download_model,
    )
