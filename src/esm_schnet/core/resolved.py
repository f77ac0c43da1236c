"""Config once: the resolved settings each job receives, and their typed form.

The Snakefile validates the config and fills its defaults (esm_schnet.core.settings) and reads
the sample table once, which fixes the labels' classes (esm_schnet.core.samples). Then
`write_stage_files` writes, for each stage, exactly the settings its jobs use (`STAGES`: their
config sections plus the label specs, classes included) to `<directory>/<stage>-<digest>.json`.
The name is the content's digest, so a file is never rewritten: it changes exactly when the
stage's settings change, and the rules carry it as a param, which is what makes Snakemake rerun
that stage's jobs and no other (tests/workflow/test_reruns.py). The files go under `.snakemake/`
(a dry run writes nothing under results/); a job reads its file with `--config-file` and builds
its typed `JobSettings` once, at its entry point (`JobSettings.from_file`); what it calls takes
the typed objects.

Outside Snakemake the same flag takes a config YAML of your own (`config.yaml`, or only the
sections you change): `JobSettings.from_file` validates and fills it like the Snakefile, and
derives the labels' classes from the sample table the job reads (the `labels` of a resolved file
already have them).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from esm_schnet.core.errors import ConfigError
from esm_schnet.core.settings import GraphSettings, TrainingSettings, section

FORMAT = "esm-schnet-resolved-settings"
DIRECTORY = ".snakemake/esm_schnet/settings"
# stage -> the config keys its jobs read ("training.seed": one key of a section); every stage
# also gets the label specs. What a stage's file holds is what reruns its jobs when it changes.
STAGES = {
    "folds": ("cv", "training.seed"),
    "train": ("graph", "model", "training"),
    "evaluate": ("embedding.model", "cv.scheme", "evaluate"),
    "score_test_set": ("evaluate", "plots.dpi"),
}


def _pick(config: dict, keys) -> dict:
    out: dict = {}
    for key in keys:
        head, _, tail = key.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = config[head][tail]
        else:
            out[head] = config[head]
    return out


def stage_settings(config: dict, specs, stage: str) -> dict:
    """What the jobs of `stage` receive: their sections of the validated, default-filled
    `config` and the label specs (LabelSpecs with their classes)."""
    return {"format": FORMAT, "stage": stage, "config": _pick(config, STAGES[stage]),
            "labels": [s.as_dict() for s in specs]}


def write_stage_files(config: dict, specs, directory=DIRECTORY) -> dict[str, str]:
    """{stage: path} of every stage's resolved settings, each written once (atomically) under
    its content's digest."""
    from esm_schnet.core.files import write_text

    paths = {}
    for stage in STAGES:
        text = json.dumps(stage_settings(config, specs, stage), sort_keys=True, indent=1) + "\n"
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = Path(directory) / f"{stage}-{digest}.json"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, text)
        paths[stage] = str(path)
    return paths


@dataclass(frozen=True)
class JobSettings:
    """A job's settings, typed, built once at its entry point. A section the stage does not
    use is None; `labels` are LabelSpecs with their classes (None: to be found in the sample
    table, for a config file of your own)."""

    labels: tuple | None
    graph: GraphSettings | None = None
    model: dict | None = None  # the validated `model:` section (encoders.model.ModelConfig)
    training: TrainingSettings | None = None
    cv: dict | None = None
    evaluate: dict | None = None
    plots: dict | None = None
    embedding_model: str | None = None
    seed: int | None = None  # training.seed (the folds' shuffles)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_file(cls, path) -> "JobSettings":
        """A stage file (`write_stage_files`) or a config YAML/JSON of your own."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"--config-file {path}: no such file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--config-file {path}: not YAML or JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"--config-file {path}: not a mapping of settings")
        if data.get("format") == FORMAT:
            from esm_schnet.core.labels import LabelSpec

            return cls._build(data["config"],
                              tuple(LabelSpec.from_dict(s) for s in data["labels"]))
        return cls.from_config(data)

    @classmethod
    def from_config(cls, config: dict | None) -> "JobSettings":
        """From config sections (what is missing filled from the schema); the labels' classes
        are still to be found (`with_labels`)."""
        from esm_schnet.core.labels import parse_labels
        from esm_schnet.core.settings import validate

        config = validate(copy.deepcopy(dict(config or {})))
        return cls._build(config, None, parse_labels(config["labels"]))

    @classmethod
    def _build(cls, config: dict, labels, unresolved=None) -> "JobSettings":
        get = config.get
        training = get("training")
        return cls(
            labels=labels if labels is not None else tuple(unresolved),
            graph=GraphSettings.from_dict(get("graph")) if "graph" in config else None,
            model=section("model", get("model")) if "model" in config else None,
            training=(TrainingSettings.from_dict(training)
                      if training is not None and "epochs" in training else None),
            cv=get("cv"), evaluate=get("evaluate"), plots=get("plots"),
            embedding_model=(get("embedding") or {}).get("model"),
            seed=(training or {}).get("seed"),
            raw=config,
        )

    def need(self, *names: str) -> "JobSettings":
        """Self, or a ConfigError naming the first of `names` this file does not hold."""
        for name in names:
            if getattr(self, name) is None:
                raise ConfigError(f"the settings file has no {name!r} (a resolved file of "
                                  "another stage?)")
        return self
