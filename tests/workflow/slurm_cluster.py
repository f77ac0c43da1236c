"""A throw-away single-node SLURM cluster for tests (Debian's slurm-wlm + munge, run as root).

Everything lives in one private directory: its own munged (own key copy, socket, pid, log), its
own slurm.conf (own ports, state, spool and log paths), slurmctld and slurmd in the foreground
(`-D`), so every daemon started here is a child process whose PID we hold. `stop()` cancels the
cluster's jobs, then ends the daemons by PID in reverse start order (SIGTERM, then SIGKILL) and
never touches a process it did not start. Client commands (sbatch, squeue, ...) find this cluster
through the `SLURM_CONF` variable in `cluster.env()`.

Facts behind the settings: ../shared/notes/slurm-local-cluster.md (proctrack/linuxproc, task/none,
cons_tres, no accounting; without slurmdbd the Snakemake plugin must poll with squeue).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PACKAGES = ("slurm-wlm", "munge")
PARTITION = "debug"


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be installed or started here; the message is the reason (for pytest.skip)."""


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def _missing() -> list[str]:
    return [d for d in DAEMONS + ("sbatch", "squeue", "sinfo", "scancel") if _which(d) is None]


def ensure_installed(timeout: float = 600) -> None:
    """Install slurm-wlm and munge with apt-get when they are missing (needs root).

    Raises SlurmUnavailable with the reason when that is impossible (not root, no apt-get, the
    Debian mirror cannot be reached, ...).
    """
    if not _missing():
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"SLURM is not installed ({', '.join(_missing())} missing) and "
                               "installing it needs root")
    apt = _which("apt-get")
    if apt is None:
        raise SlurmUnavailable("SLURM is not installed and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    tail = ""
    for attempt in ("install", "update+install"):
        try:
            if attempt == "update+install":
                upd = subprocess.run([apt, "update", "-q"], env=env, capture_output=True,
                                     text=True, timeout=timeout)
                if upd.returncode != 0:
                    tail = (upd.stdout + upd.stderr)[-600:]
                    break
            proc = subprocess.run(install, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SlurmUnavailable(f"apt-get {attempt} of {' '.join(PACKAGES)} timed out")
        if proc.returncode == 0 and not _missing():
            return
        tail = (proc.stdout + proc.stderr)[-600:]
    raise SlurmUnavailable(
        f"could not install {' '.join(PACKAGES)} with apt-get (no network to the Debian "
        f"mirror?): {tail.strip()}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line(hostname: str) -> str:
    """`NodeName=... CPUs=... RealMemory=...` as `slurmd -C` reports this machine."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30)
    line = out.stdout.splitlines()[0] if out.returncode == 0 and out.stdout else ""
    if not line.startswith("NodeName="):
        cpus = os.cpu_count() or 1
        line = f"NodeName={hostname} CPUs={cpus} RealMemory=1024"
    fields = [f for f in line.split() if not f.startswith(("NodeName=", "UpTime="))]
    return " ".join([f"NodeName={hostname}", *fields, "State=UNKNOWN"])


class LocalSlurmCluster:
    """One controller + one compute node on this machine. Use as a context manager."""

    def __init__(self, root: str | Path | None = None):
        # munged (user munge) must traverse the directory: not under pytest's 0700 tmp dirs.
        self._own_root = root is None  # a private temp dir: removed by stop()
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="esm-schnet-slurm-"))
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.hostname = socket.gethostname().split(".")[0]
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"

    # -- environment for clients ------------------------------------------------------------
    def env(self, base: dict | None = None) -> dict[str, str]:
        """Environment for client commands and for Snakemake: SLURM_CONF points at this cluster.

        snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable (SLURM_CONF too)
        before its nested `srun`, so `bin/` (first on PATH; sbatch exports PATH to the job)
        holds an `srun` wrapper that sets SLURM_CONF again.
        """
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()}

    # -- start --------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "LocalSlurmCluster":
        ensure_installed()
        if os.geteuid() != 0:
            raise SlurmUnavailable("starting slurmd/slurmctld needs root")
        try:
            socket.getaddrinfo(self.hostname, None)
        except OSError:
            raise SlurmUnavailable(
                f"the short host name {self.hostname!r} does not resolve "
                f"(add '127.0.0.1 {self.hostname}' to /etc/hosts)"
            )
        try:
            self._start_munged(timeout)
            self._write_conf()
            self._start_slurm("slurmctld", timeout)
            self._start_slurm("slurmd", timeout)
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munged(self, timeout: float) -> None:
        try:
            munge = pwd.getpwnam("munge")
        except KeyError:
            raise SlurmUnavailable("the munge package did not create the user 'munge'")
        mdir = self.munge_socket.parent
        mdir.mkdir(mode=0o700, exist_ok=True)
        key = mdir / "munge.key"
        system_key = Path("/etc/munge/munge.key")
        if system_key.is_file():
            shutil.copyfile(system_key, key)
        else:
            subprocess.run([_which("mungekey") or "mungekey", "--create", f"--keyfile={key}"],
                           check=True, capture_output=True, timeout=60)
        os.chmod(key, 0o600)
        for p in (mdir, key):
            os.chown(p, munge.pw_uid, munge.pw_gid)
        cmd = [
            _which("munged"), "--foreground", "--force",
            f"--socket={self.munge_socket}", f"--key-file={key}",
            f"--pid-file={mdir / 'munged.pid'}", f"--log-file={mdir / 'munged.log'}",
            f"--seed-file={mdir / 'munged.seed'}",
        ]
        self.procs["munged"] = subprocess.Popen(
            cmd, user=munge.pw_uid, group=munge.pw_gid, extra_groups=[],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "munged.stderr", "wb"),
            start_new_session=True,
        )
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged", self.root / "munged.stderr")
        # The socket directory must be reachable by root clients (slurm runs as root here).
        os.chmod(mdir, 0o755)

    def _write_conf(self) -> None:
        r = self.root
        for d in ("state", "spool", "log"):
            (r / d).mkdir(exist_ok=True)
        lines = [
            "ClusterName=esmschnettest",
            f"SlurmctldHost={self.hostname}",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MailProg=/bin/true",
            "ReturnToService=2",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "MinJobAge=300",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=2",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            _node_line(self.hostname),
            f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")
        bindir = r / "bin"
        bindir.mkdir(exist_ok=True)
        wrapper = bindir / "srun"
        wrapper.write_text(
            f"#!/bin/sh\nSLURM_CONF={self.conf}\nexport SLURM_CONF\nexec {_which('srun')} \"$@\"\n"
        )
        wrapper.chmod(0o755)

    def _start_slurm(self, name: str, timeout: float) -> None:
        err = self.root / f"{name}.stderr"
        cmd = [_which(name), "-D", "-f", str(self.conf)]
        if name == "slurmctld":
            cmd.append("-c")  # clear any saved state: a fresh cluster every time
        self.procs[name] = subprocess.Popen(
            cmd, env=self.env(), stdout=subprocess.DEVNULL, stderr=open(err, "wb"),
            start_new_session=True,
        )
        if name == "slurmctld":
            self._wait(lambda: self._run(["scontrol", "ping"]).returncode == 0
                       and "UP" in self._run(["scontrol", "ping"]).stdout, timeout, name, err)

    def _wait_idle(self, timeout: float) -> None:
        def idle() -> bool:
            out = self._run(["sinfo", "-h", "-o", "%T"])
            return out.returncode == 0 and out.stdout.strip().startswith("idle")

        self._wait(idle, timeout, "slurmd", self.root / "slurmd.stderr")

    # -- helpers ------------------------------------------------------------------------------
    def _run(self, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([_which(cmd[0]) or cmd[0], *cmd[1:]], env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def _wait(self, ready, timeout: float, name: str, err: Path) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise SlurmUnavailable(f"{name} exited with {proc.returncode}: {self._tail(err)}")
            if ready():
                return
            time.sleep(0.2)
        raise SlurmUnavailable(f"{name} not ready after {timeout:.0f} s: {self._tail(err)}")

    def _tail(self, path: Path) -> str:
        texts = []
        for p in (path, self.root / "log" / "slurmctld.log", self.root / "log" / "slurmd.log",
                  self.root / "munge" / "munged.log"):
            try:
                texts.append(f"[{p.name}] " + p.read_text(errors="replace")[-800:])
            except OSError:
                pass
        return "\n".join(texts)

    def logs(self) -> str:
        return self._tail(self.root / "slurmd.stderr")

    # -- stop ---------------------------------------------------------------------------------
    def stop(self, timeout: float = 15) -> None:
        """Cancel this cluster's jobs, then end each daemon we started, by PID, in reverse."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:
                self._run(["scancel", "--full", "--quiet", f"--partition={PARTITION}"],
                          timeout=10)
            except (OSError, subprocess.SubprocessError):
                pass
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=timeout)
        if self._own_root and not any(self.alive().values()):
            shutil.rmtree(self.root, ignore_errors=True)

    def alive(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self.procs.items()}

    def __enter__(self) -> "LocalSlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
