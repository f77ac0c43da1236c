"""User-facing errors: one line that names the sample (or file) and the reason."""


class EsmSchnetError(Exception):
    """Base class of errors whose message is meant for the user as it is."""


class InputError(EsmSchnetError):
    """Bad input for one sample: a structure that cannot be parsed, a bad label, ..."""

    def __init__(self, sample: str | None, reason: str):
        self.sample = sample
        self.reason = reason
        super().__init__(f"sample {sample!r}: {reason}" if sample is not None else reason)


class SampleTableError(EsmSchnetError):
    """The sample table is invalid; carries every problem found, each with its row and column."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid sample table {self.path}:\n{lines}")


class ConfigError(EsmSchnetError):
    """The configuration is invalid."""


class CorruptFileError(EsmSchnetError):
    """A file the workflow wrote earlier is truncated or corrupted."""

    def __init__(self, path, detail: str = ""):
        self.path = str(path)
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{self.path} is truncated or corrupted{extra}: delete it and rerun the workflow"
        )


class JobFailed(EsmSchnetError):
    """An expected failure of an in-process (`run:`) Snakemake job, raised by
    `esm_schnet.core.log.rule_job` after the job log has recorded the error.

    Snakemake prints the stack frames of an exception raised in a `run:` block (`File "...",
    line N, in ...`), and `sys.exit` from a job thread hangs it. This exception hides its
    traceback from the `traceback` module (the interpreter keeps it), so Snakemake prints just
    ``esm_schnet.core.errors.JobFailed: <message>``, once. Genuine bugs are never wrapped.
    """

    @property
    def __traceback__(self):  # type: ignore[override]
        return None

    @__traceback__.setter
    def __traceback__(self, value):
        pass
