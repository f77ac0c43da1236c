"""Logging helpers: every job logs through `logging` into its Snakemake log file.

`job_log(path)` is a context manager used by CLI commands and by in-process (`run:`) rules.
Snakemake runs `run:` jobs in threads of its own process, so the handler only accepts records
from the thread that opened it: two concurrent jobs never write into each other's logs.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from pathlib import Path

from esm_schnet.core.errors import EsmSchnetError, JobFailed

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PACKAGE_LOGGER = "esm_schnet"


class _ThreadFilter(logging.Filter):
    def __init__(self, thread_id: int):
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id


@contextlib.contextmanager
def job_log(path: str | Path | None, level: int = logging.INFO, echo: bool = False):
    """Send the package's log records of the current thread to `path` (appending)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    handlers: list[logging.Handler] = []
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="a", encoding="utf-8"))
    if echo or path is None:
        handlers.append(logging.StreamHandler(sys.stderr))
    flt = _ThreadFilter(threading.get_ident())
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.setLevel(level)
        h.addFilter(flt)
        logger.addHandler(h)
    try:
        yield logger
    except EsmSchnetError as exc:
        # to the log file only: the caller (the CLI's `esm-schnet CMD: error:` line, a rule's
        # JobFailed message, a Python caller's exception) shows it on the console once
        for h in handlers:
            if type(h) is logging.StreamHandler:
                logger.removeHandler(h)
        logger.error("%s", exc)
        raise
    except Exception:
        logger.exception("unexpected error (a bug: please report it with this log)")
        raise
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()


def rule_job(func, *args, log_shown: bool = False, **kwargs):
    """Call `func` for a Snakemake `run:` rule; an expected error (EsmSchnetError, already in
    the job log through `job_log`) fails the job with no stack frames. The console gets the
    error line once: in the JobFailed message, or, where Snakemake prints the failed job's log
    (`log_shown`, --show-failed-logs as profiles/default sets it), from that log only."""
    try:
        return func(*args, **kwargs)
    except EsmSchnetError as exc:
        if log_shown:
            raise JobFailed("expected error, the reason is in the job log (below)") from None
        raise JobFailed(str(exc)) from None


class TqdmToLogger:
    """A file-like object for tqdm that writes progress lines to a logger (one line per update)."""

    def __init__(self, logger: logging.Logger, level: int = logging.INFO):
        self.logger = logger
        self.level = level

    def write(self, buf: str) -> None:
        text = buf.strip("\r\n\t ")
        if text:
            self.logger.log(self.level, text)

    def flush(self) -> None:  # tqdm calls flush
        pass


def progress(iterable=None, *, logger: logging.Logger, desc: str, total=None, **kwargs):
    """tqdm progress bar that writes into the job log (at most every few seconds)."""
    from tqdm import tqdm

    kwargs.setdefault("mininterval", 5.0)
    kwargs.setdefault("ascii", True)
    return tqdm(iterable, total=total, desc=desc, file=TqdmToLogger(logger), **kwargs)
