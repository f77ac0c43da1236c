"""The `esm-schnet` console script: one subcommand per workflow stage.

Each subcommand lives in its stage's module as a function `cli(argv) -> int | None` with its own
argparse parser; this file only dispatches, so `esm-schnet parse` never imports torch.
Errors meant for the user (EsmSchnetError) are printed as one line; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys

from esm_schnet import __version__
from esm_schnet.core.errors import EsmSchnetError

# name -> ("module:function", one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("esm_schnet.parse:cli", "parse one structure file into results/structures/<id>.h5"),
    "download-model": ("esm_schnet.embed.download:cli", "fetch model weights (ESM2) into a local directory"),
    "embed": ("esm_schnet.embed.shard:cli", "embed the proteins of one shard into an HDF5 shard"),
    "folds": ("esm_schnet.cv:cli", "write the cross-validation folds table"),
    "train-fold": ("esm_schnet.train.cli:cli_fold", "train SchNet on one fold and predict its test set"),
    "train-final": ("esm_schnet.train.cli:cli_final", "train the final model on every labelled protein"),
    "evaluate": ("esm_schnet.evaluate:cli", "gather folds: metrics, baselines, plots"),
    "score-test-set": ("esm_schnet.evaluate.testset:cli", "score a labelled prediction set beside every baseline refitted on all training proteins"),
    "predict": ("esm_schnet.prediction.cli:cli", "score structure files (or the workflow's prediction set) with one or more models"),
    "inspect": ("esm_schnet.core.inspect:cli", "summarise any HDF5 file the workflow writes"),
    "make-example": ("esm_schnet.example.cli:cli", "write the bundled synthetic example dataset"),
}

def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: esm-schnet COMMAND [options]   (esm-schnet {__version__})",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `esm-schnet COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Called without argv (the console script, `python -m esm_schnet.cli`)
    it is the whole process and ends it at once when the command returns (see _exit_now);
    called with argv (tests, Python callers) it returns the exit status."""
    code = _run(list(sys.argv[1:] if argv is None else argv))
    if argv is None:
        _exit_now(code)
    return code


def _run(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"esm-schnet: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        result = func(rest)
    except EsmSchnetError as exc:
        # The command's job log already holds the error (esm_schnet.core.log.job_log records it).
        print(f"esm-schnet {name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"esm-schnet {name}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def _exit_now(code: int) -> None:
    """End the process without the interpreter's teardown of every loaded module.

    After torch + PyG are imported that teardown alone took ~1 s of CPU and ~2 s of wall time
    per job here (`python -c "import torch_geometric"` with and without `os._exit`, paired),
    paid by every train, predict and evaluate job. Every output is complete by now (written
    under a temporary name, closed, renamed), so nothing is lost: the exit handlers (logging's
    flush and close among them) run, the standard streams are flushed, then os._exit.
    Uncaught exceptions never get here: they end the process the usual way, with a traceback.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
