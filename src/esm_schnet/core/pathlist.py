"""Lists of input files passed through a file, so no job's command line grows with the data.

Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN), and Snakemake runs a shell rule
as one argument to `bash -c`: a rule that names every protein's file on its command line fails
at about 4,500 proteins. Jobs that take many files therefore accept `--NAME-from FILE` (one path
per line) beside `--NAME PATH...`, and a local rule writes that file from the job's declared
inputs (`path_list_job`), so Snakemake still sees every file as an input (DAG and reruns as
before) while the command line holds one path.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable

from esm_schnet.core.errors import EsmSchnetError

log = logging.getLogger("esm_schnet.core.pathlist")


def write_path_list(paths: Iterable, out) -> int:
    """Write one path per line (atomically); returns the number of paths."""
    from esm_schnet.core.files import write_text

    paths = [str(p) for p in paths]
    bad = next((p for p in paths if "\n" in p or "\r" in p or not p.strip()), None)
    if bad is not None:
        raise EsmSchnetError(f"path list {out}: a path is empty or holds a line break: {bad!r}")
    write_text(out, "".join(f"{p}\n" for p in paths))
    return len(paths)


def read_path_list(path) -> list[str]:
    """The paths of a list file (blank lines ignored); one clear line if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.rstrip("\r\n") for line in fh if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise EsmSchnetError(f"path list {path}: cannot read it ({type(exc).__name__})") from None


def path_list_job(paths: Iterable, out, log_path=None) -> int:
    """The list rules of the workflow: write `out` from the rule's inputs, logging to log_path."""
    from esm_schnet.core.log import job_log

    with job_log(log_path):
        n = write_path_list(paths, out)
        log.info("%s: %d paths", out, n)
    return n


def add_path_arguments(parser: argparse.ArgumentParser, flag: str, *, help: str,
                       required: bool = True) -> None:
    """`flag PATH...` or `flag-from FILE` (exactly one of them when `required`)."""
    dest = flag.lstrip("-").replace("-", "_")
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(flag, nargs="+" if required else "*", dest=dest, default=None, help=help)
    group.add_argument(f"{flag}-from", dest=f"{dest}_from", metavar="FILE", default=None,
                       help=f"a file with one path per line instead of {flag} (what the "
                            "workflow passes: no command line grows with the number of proteins)")


def paths_from_args(args: argparse.Namespace, dest: str) -> list[str]:
    """The paths given by `--dest` or read from `--dest-from` (see add_path_arguments)."""
    listed = getattr(args, f"{dest}_from", None)
    if listed is not None:
        return read_path_list(listed)
    return list(getattr(args, dest, None) or [])
