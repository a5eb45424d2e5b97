"""A throw-away one-node SLURM cluster for testing the dpglass SLURM profiles.

Everything (config files, spool/state directories, logs, the MariaDB data
directory, the munge key and socket) lives in one state directory, by default
``/tmp/dpglass-slurm`` (override with ``$DPGLASS_SLURM_STATE`` or ``--state``).
The SLURM client commands find the cluster through
``SLURM_CONF=<state>/etc/slurm.conf``. In addition, because
snakemake-executor-plugin-slurm-jobstep removes every ``SLURM_*`` variable
except a few job-identity ones (SLURM_CONF included) before it calls ``srun``
inside the job, ``/etc/slurm/slurm.conf`` is made a symlink to that file while
the cluster runs (only if no such file exists; it is removed again by ``stop``).
The munge daemon listens on the default socket ``/run/munge/munge.socket.2``
(``sacctmgr`` ignores ``AuthInfo=socket=...``); an already running munged there
is reused.

Daemons are started in the foreground (``-D``/``-F``) as children in their own
session; their PIDs are recorded in ``<state>/pids.json`` and ``stop`` ends
exactly those PIDs (SIGTERM, then SIGKILL after a grace period).

The node has 2 fake GPUs (GRES gpu backed by /dev/null and /dev/zero) and is
in two partitions, ``debug`` (default) and ``gpu``, so the slurm-gpu profile's
partition routing and ``--gpus`` can be tested without a GPU.

Accounting: if ``mariadbd`` and ``slurmdbd`` are installed, a private MariaDB
(TCP on 127.0.0.1) and slurmdbd are started, and the cluster, the account
``dpglass_test`` and user ``root`` are registered, so ``sacct`` works and the
executor plugin's account validation (``sacctmgr list user``) passes.
Without them the cluster runs with ``accounting_storage/none``; then use the
plugin option ``--slurm-status-command squeue`` (MinJobAge is set to 600 s).

Needs root (daemons run with SlurmUser=root) and the Debian packages installed
by ``tests/slurm/install.sh``.

CLI::

    python tests/slurm/cluster.py start [--state DIR]   # prints `export SLURM_CONF=...`
    python tests/slurm/cluster.py status [--state DIR]
    python tests/slurm/cluster.py stop [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_STATE = Path(os.environ.get("DPGLASS_SLURM_STATE", "/tmp/dpglass-slurm"))
CLUSTER_NAME = "dpglass"
ACCOUNT = "dpglass_test"
PARTITION = "debug"  # default partition (CPU jobs)
GPU_PARTITION = "gpu"  # same node, but only this partition is meant for GPU jobs
FAKE_GPU_FILES = ("/dev/null", "/dev/zero")  # fake GRES gpu: schedulable, nothing to compute on
FAKE_GPUS = len(FAKE_GPU_FILES)
# Non-default ports so that a system SLURM/MariaDB on the same host is not hit.
PORTS = {"slurmctld": 16817, "slurmd": 16818, "slurmdbd": 16819, "mariadb": 13306}
# Which state directory holds the running test cluster (there can only be one:
# fixed ports, /etc/slurm/slurm.conf, the munge socket).
ACTIVE_FILE = Path("/run/dpglass-slurm-test.state")
ETC_SLURM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
DB_USER, DB_PASS, DB_NAME = "slurm", "slurm-test-only", "slurm_acct_db"


class ClusterError(RuntimeError):
    pass


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).exists()),
        None,
    )


class Cluster:
    def __init__(self, state_dir: Path | str = DEFAULT_STATE, accounting: bool | None = None):
        self.state = Path(state_dir).resolve()
        self.etc = self.state / "etc"
        self.log = self.state / "log"
        self.conf = self.etc / "slurm.conf"
        self.pidfile = self.state / "pids.json"
        # Client commands (sacctmgr at least) ignore AuthInfo=socket=..., so
        # munged must listen on the default socket.
        self.munge_socket = MUNGE_SOCKET
        if accounting is None:
            accounting = bool(_which("slurmdbd") and _which("mariadbd") and _which("mariadb-install-db"))
        self.accounting = accounting
        self.hostname = socket.gethostname().split(".")[0]
        self._procs: dict[int, subprocess.Popen] = {}  # daemons started by this process

    # ------------------------------------------------------------------ env
    def env(self) -> dict:
        """Environment variables a client (sbatch, sacct, snakemake) needs."""
        return {"SLURM_CONF": str(self.conf)}

    def _env(self) -> dict:
        return {**os.environ, **self.env()}

    def _run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(cmd), env=self._env(), capture_output=True, text=True, check=check, timeout=timeout
        )

    # ---------------------------------------------------------- config files
    def _node_line(self) -> str:
        out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
        line = next(l for l in out.splitlines() if l.startswith("NodeName="))
        fields = dict(f.split("=", 1) for f in line.split())
        fields["NodeName"] = self.hostname
        # Leave some memory for the OS and the daemons.
        fields["RealMemory"] = str(max(512, int(fields["RealMemory"]) - 1024))
        self.cpus = int(fields["CPUs"])
        self.real_memory = int(fields["RealMemory"])
        return " ".join(f"{k}={v}" for k, v in fields.items()) + f" Gres=gpu:{FAKE_GPUS} State=UNKNOWN"

    def write_config(self) -> None:
        for d in (self.etc, self.log, self.state / "ctld", self.state / "spool", self.state / "munge"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state / "munge", 0o700)
        key = self.state / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)

        node = self._node_line()
        mem_per_cpu = max(256, self.real_memory // self.cpus)
        if self.accounting:
            acct = (
                "AccountingStorageType=accounting_storage/slurmdbd\n"
                f"AccountingStorageHost=localhost\nAccountingStoragePort={PORTS['slurmdbd']}\n"
                "AccountingStorageEnforce=associations\n"
                "JobAcctGatherType=jobacct_gather/linux\nJobAcctGatherFrequency=5\n"
            )
        else:
            acct = "AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\n"
        s = self.state
        self.conf.write_text(
            f"""# generated by tests/slurm/cluster.py -- test cluster only
ClusterName={CLUSTER_NAME}
SlurmctldHost={self.hostname}
SlurmctldPort={PORTS['slurmctld']}
SlurmdPort={PORTS['slurmd']}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={s}/ctld
SlurmdSpoolDir={s}/spool
SlurmctldPidFile={s}/slurmctld.pid
SlurmdPidFile={s}/slurmd.pid
SlurmctldLogFile={self.log}/slurmctld.log
SlurmdLogFile={self.log}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={mem_per_cpu}
# squeue-based status checks need MinJobAge >= 3 x the plugin's init wait.
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
{acct}JobCompType=jobcomp/none
AccountingStoreFlags=job_comment
GresTypes=gpu
AccountingStorageTRES=gres/gpu
{node}
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName={GPU_PARTITION} Nodes=ALL Default=NO MaxTime=INFINITE State=UP
"""
        )
        # slurmd ignores a gpu GRES without device files; any char devices do (task/none
        # enforces nothing).
        (self.etc / "gres.conf").write_text("".join(
            f"NodeName={self.hostname} Name=gpu File={dev}\n" for dev in FAKE_GPU_FILES))
        if self.accounting:
            dbd = self.etc / "slurmdbd.conf"
            dbd.write_text(
                f"""AuthType=auth/munge
DbdHost=localhost
DbdPort={PORTS['slurmdbd']}
SlurmUser=root
LogFile={self.log}/slurmdbd.log
PidFile={s}/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={PORTS['mariadb']}
StorageUser={DB_USER}
StoragePass={DB_PASS}
StorageLoc={DB_NAME}
"""
            )
            os.chmod(dbd, 0o600)

    # --------------------------------------------------------------- daemons
    def _pids(self) -> list[dict]:
        if self.pidfile.exists():
            return json.loads(self.pidfile.read_text())
        return []

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        logf = open(self.log / f"{name}.stdout", "ab")
        p = subprocess.Popen(
            cmd, env=self._env(), stdout=logf, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        logf.close()
        self._procs[p.pid] = p
        pids = self._pids()
        pids.append({"name": name, "pid": p.pid, "exe": Path(cmd[0]).name})
        self.pidfile.write_text(json.dumps(pids, indent=1))
        return p

    def _wait(self, what: str, cond, timeout: float, proc: subprocess.Popen | None = None, logfile=None):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                if cond():
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.3)
        tail = ""
        for lf in [logfile] if logfile else []:
            if Path(lf).exists():
                tail = "\n".join(Path(lf).read_text(errors="replace").splitlines()[-30:])
        raise ClusterError(f"timed out / failed waiting for {what}\n{tail}")

    def _munge_alive(self) -> bool:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(self.munge_socket))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _start_munge(self):
        if self._munge_alive():
            # A munged is already running (e.g. the system's): reuse it.
            return
        d = self.state / "munge"
        self.munge_socket.parent.mkdir(parents=True, exist_ok=True)
        p = self._spawn("munged", [_which("munged"), "-F", "--force",
                                   f"--socket={self.munge_socket}", f"--key-file={d}/munge.key",
                                   f"--log-file={self.log}/munged.log", f"--pid-file={d}/munged.pid",
                                   f"--seed-file={d}/munged.seed"])
        self._wait("munged", self._munge_alive, 20, p, self.log / "munged.log")

    def _start_mariadb(self):
        data = self.state / "mysql"
        if not (data / "mysql").exists():
            subprocess.run([_which("mariadb-install-db"), "--no-defaults", "--user=root",
                            f"--datadir={data}", "--skip-test-db", "--auth-root-authentication-method=socket"],
                           capture_output=True, check=True, timeout=120)
        init = self.etc / "init.sql"
        init.write_text(
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{DB_PASS}';\n"
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASS}';\n"
            f"GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'127.0.0.1';\n"
            f"GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'localhost';\n"
        )
        sock = self.state / "mysqld.sock"
        p = self._spawn("mariadbd", [_which("mariadbd"), "--no-defaults", "--user=root",
                                     f"--datadir={data}", f"--socket={sock}", f"--port={PORTS['mariadb']}",
                                     "--bind-address=127.0.0.1", f"--pid-file={self.state}/mariadbd.pid",
                                     f"--log-error={self.log}/mariadbd.log", f"--init-file={init}",
                                     "--innodb-buffer-pool-size=128M", "--innodb-lock-wait-timeout=900",
                                     "--skip-log-bin"])

        def up():
            with socket.create_connection(("127.0.0.1", PORTS["mariadb"]), timeout=1):
                return True
        self._wait("mariadbd", up, 60, p, self.log / "mariadbd.log")

    def _start_slurmdbd(self):
        p = self._spawn("slurmdbd", [_which("slurmdbd"), "-D"])
        self._wait("slurmdbd", lambda: self._run("sacctmgr", "-n", "list", "cluster", timeout=10).returncode == 0,
                   60, p, self.log / "slurmdbd.log")
        # Register cluster, account and user (idempotent: errors for "exists" ignored).
        self._run("sacctmgr", "-i", "add", "cluster", CLUSTER_NAME, check=False)
        self._run("sacctmgr", "-i", "add", "account", ACCOUNT, f"cluster={CLUSTER_NAME}",
                  "description=dpglass test", "organization=dpglass", check=False)
        self._run("sacctmgr", "-i", "add", "user", "root", f"account={ACCOUNT}",
                  f"cluster={CLUSTER_NAME}", f"defaultaccount={ACCOUNT}", check=False)
        out = self._run("sacctmgr", "-n", "-P", "list", "assoc", "user=root", "format=account").stdout
        if ACCOUNT not in out.split():
            raise ClusterError(f"account registration failed: {out!r}")

    def node_state(self) -> str:
        r = self._run("sinfo", "-h", "-N", "-n", self.hostname, "-o", "%T", check=False, timeout=10)
        # one line per partition the node is in
        return ",".join(sorted(set(r.stdout.split()))) if r.returncode == 0 else ""

    def start(self, timeout: float = 120, fresh: bool = True) -> float:
        """Start all daemons; returns the seconds it took until the node was idle."""
        t0 = time.monotonic()
        if os.geteuid() != 0:
            raise ClusterError("the test cluster must be started as root")
        if ACTIVE_FILE.exists():
            other = Cluster(ACTIVE_FILE.read_text().strip(), accounting=False)
            if any(other._alive(e) for e in other._pids()):
                raise ClusterError(
                    f"a test cluster is already running in {other.state}; stop it with "
                    f"`python tests/slurm/cluster.py stop --state {other.state}`")
            ACTIVE_FILE.unlink()  # stale (e.g. a killed test session)
        if fresh and self.state.exists():
            shutil.rmtree(self.state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.pidfile.write_text("[]")
        self.write_config()
        ACTIVE_FILE.parent.mkdir(parents=True, exist_ok=True)
        ACTIVE_FILE.write_text(str(self.state))
        self._link_etc_conf()
        try:
            self._start_munge()
            if self.accounting:
                self._start_mariadb()
                self._start_slurmdbd()
            ctld = self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
            self._wait("slurmctld", lambda: self._run("scontrol", "ping", check=False, timeout=10)
                       .stdout.count("UP") > 0, 60, ctld, self.log / "slurmctld.log")
            d = self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf)])
            self._wait("node idle", lambda: self.node_state() == "idle", timeout, d, self.log / "slurmd.log")
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - t0

    def _link_etc_conf(self) -> None:
        if ETC_SLURM_CONF.is_symlink() or ETC_SLURM_CONF.exists():
            if ETC_SLURM_CONF.resolve() == self.conf.resolve():
                return
            if ETC_SLURM_CONF.is_symlink() and (
                    not ETC_SLURM_CONF.exists() or "generated by tests/slurm/cluster.py"
                    in ETC_SLURM_CONF.read_text()):
                ETC_SLURM_CONF.unlink()  # left by an earlier (killed) test cluster
            else:
                raise ClusterError(
                    f"{ETC_SLURM_CONF} exists (a real SLURM installation?); the test cluster "
                    "needs it for srun inside jobs and will not overwrite it")
        ETC_SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        ETC_SLURM_CONF.symlink_to(self.conf)

    def _unlink_etc_conf(self) -> None:
        if ETC_SLURM_CONF.is_symlink() and Path(os.readlink(ETC_SLURM_CONF)) == self.conf:
            ETC_SLURM_CONF.unlink()

    # ------------------------------------------------------------------ stop
    @staticmethod
    def _alive(entry: dict) -> bool:
        """True if the recorded PID still runs the recorded program (not a zombie)."""
        try:
            stat = Path(f"/proc/{entry['pid']}/stat").read_text()
            cmdline = Path(f"/proc/{entry['pid']}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return False
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return Path(cmdline.decode(errors="replace")).name == entry["exe"]

    def stop(self, grace: float = 15) -> list[str]:
        """Cancel jobs, then end every recorded daemon by PID. Returns what was stopped."""
        entries = self._pids()
        names = {e["name"] for e in entries if self._alive(e)}
        if {"slurmctld", "slurmd"} <= names:
            ids = self._run("squeue", "-h", "-o", "%i", check=False, timeout=10).stdout.split()
            if ids:
                self._run("scancel", *ids, check=False)
                t0 = time.monotonic()
                while time.monotonic() - t0 < 20 and self._run(
                        "squeue", "-h", "-o", "%i", check=False, timeout=10).stdout.strip():
                    time.sleep(0.5)
        stopped = [f"job-process[{pid}]" for pid in self.kill_job_leftovers()]
        for e in reversed(entries):
            if not self._alive(e):
                continue
            os.kill(e["pid"], signal.SIGTERM)
            t0 = time.monotonic()
            while self._alive(e) and time.monotonic() - t0 < grace:
                time.sleep(0.1)
            if self._alive(e):
                os.kill(e["pid"], signal.SIGKILL)
            proc = self._procs.pop(e["pid"], None)
            if proc is not None:  # our child: reap it (no zombie left behind)
                proc.wait(timeout=10)
            stopped.append(f"{e['name']}[{e['pid']}]")
        if self.pidfile.exists():
            self.pidfile.write_text("[]")
        self._unlink_etc_conf()
        if ACTIVE_FILE.exists() and ACTIVE_FILE.read_text().strip() == str(self.state):
            ACTIVE_FILE.unlink()
        return stopped

    @staticmethod
    def job_leftovers() -> list[int]:
        """PIDs of processes started by jobs of this test cluster that outlived their job.

        (With proctrack/linuxproc a job process whose parent died first is no
        longer tracked by slurmstepd.) Recognised by SLURM_JOB_ID and
        SLURM_CLUSTER_NAME=<ours> in their environment.
        """
        found = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) == os.getpid():
                continue
            try:
                env = (d / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"SLURM_CLUSTER_NAME={CLUSTER_NAME}".encode() in env and any(
                    v.startswith(b"SLURM_JOB_ID=") for v in env):
                found.append(int(d.name))
        return found

    @staticmethod
    def _pid_running(pid: int) -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def kill_job_leftovers(self, grace: float = 5) -> list[int]:
        pids = self.job_leftovers()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            t0 = time.monotonic()
            while time.monotonic() - t0 < grace and any(self._pid_running(p) for p in pids):
                time.sleep(0.2)
        return pids

    def status(self) -> dict:
        return {
            "state_dir": str(self.state),
            "accounting": self.accounting,
            "daemons": {e["name"]: (e["pid"] if self._alive(e) else None) for e in self._pids()},
            "node": self.node_state() if self.conf.exists() else "",
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("--state", default=None,
                    help=f"state directory [for stop/status: the running test cluster's "
                         f"(from {ACTIVE_FILE}), else {DEFAULT_STATE}]")
    ap.add_argument("--no-accounting", action="store_true", help="do not start mariadb/slurmdbd")
    a = ap.parse_args(argv)
    state = a.state
    if state is None:
        state = (ACTIVE_FILE.read_text().strip() if a.action != "start" and ACTIVE_FILE.exists()
                 else DEFAULT_STATE)
    c = Cluster(state, accounting=False if a.no_accounting else None)
    if a.action == "start":
        dt = c.start()
        print(f"cluster up in {dt:.1f} s (accounting={c.accounting}); node {c.hostname}: "
              f"{c.cpus} CPUs, {c.real_memory} MB", file=sys.stderr)
        print(f"export SLURM_CONF={c.conf}")
    elif a.action == "stop":
        print("stopped: " + " ".join(c.stop()), file=sys.stderr)
    else:
        print(json.dumps(c.status(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
