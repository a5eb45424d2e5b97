"""Run toy workflows through the user-facing slurm-cpu profile on a real
(one-node) SLURM cluster. (Which resources the workflow's rules ask for under
the slurm-gpu profile, and that they fit its partitions: tests/test_profiles.py.)

The test profile is the real workflow/profiles/slurm-cpu/config.yaml with only
the placeholders replaced (account/partition of the test cluster) plus
test-only speed settings; nothing test-specific lives in the user profiles.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import cluster as C

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "workflow" / "profiles"

# test-only settings, layered over the user profile
TEST_SETTINGS = {
    "slurm-init-seconds-before-status-checks": 2,  # plugin default: 40 s
    "latency-wait": 5,
}


def make_test_profile(tmp_path: Path, cluster, name: str = "slurm-cpu", **extra) -> Path:
    cfg = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
    res = cfg["default-resources"]
    assert res["slurm_account"] == "<YOUR_ACCOUNT>", "user profile must keep the placeholder"
    res["slurm_account"] = C.ACCOUNT
    if "slurm_partition" in res:
        assert res["slurm_partition"].startswith("<"), "user profile must keep the placeholder"
        res["slurm_partition"] = C.PARTITION
    if "slurm-partition-config" in cfg:
        text = (REPO / cfg["slurm-partition-config"]).read_text()
        assert "<YOUR_CPU_PARTITION>" in text and "<YOUR_GPU_PARTITION>" in text
        text = text.replace("<YOUR_CPU_PARTITION>", C.PARTITION).replace("<YOUR_GPU_PARTITION>", C.GPU_PARTITION)
        (tmp_path / "partitions.yaml").write_text(text)
        cfg["slurm-partition-config"] = str(tmp_path / "partitions.yaml")
    cfg.update(TEST_SETTINGS)
    if not cluster.accounting:
        # no slurmdbd: sacct is useless, and the plugin's account check (sacctmgr/sshare) fails
        cfg["slurm-status-command"] = "squeue"  # MinJobAge=600 >= 3 x init wait
        cfg["slurm-no-account"] = True
        del res["slurm_account"]
    cfg.update(extra)
    d = tmp_path / f"profile-{name}"
    d.mkdir(exist_ok=True)
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    return d


def snakemake(workdir: Path, profile: Path, env, *args: str, timeout: float = 150, background=False):
    # The plugin runs `<sys.executable of the snakemake process> -m snakemake` inside
    # the job (SharedFSUsage.SOFTWARE_DEPLOYMENT is on by default), so starting
    # snakemake with this interpreter makes the jobs use this venv too.
    cmd = [sys.executable, "-m", "snakemake", "--executor", "slurm", "--profile", str(profile),
           "-j", "4", "--snakefile", str(workdir / "Snakefile"), "--directory", str(workdir), *args]
    log = open(workdir / f"snakemake-{time.monotonic_ns()}.log", "w")
    # Ctrl-C as in a terminal: a pytest started in the background (`cmd &` in a script, nohup)
    # hands its children SIGINT ignored, and Python then never raises KeyboardInterrupt
    p = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    p.logpath = Path(log.name)
    log.close()
    if background:
        return p
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.terminate()
        p.wait(30)
        raise AssertionError(f"snakemake timed out; log:\n{p.logpath.read_text()[-6000:]}")
    return p


def log_of(p) -> str:
    return p.logpath.read_text()[-8000:]


def sacct_jobs(cluster, jobids=None) -> list[dict]:
    """Allocation-level rows: jobid, comment (rule_<name>_wildcards_...), state, reqmem."""
    cmd = ["sacct", "-X", "-n", "-P", "-a", "-o",
           "JobID,Comment,State,ReqMem,ReqCPUS,Account,Partition,AllocTRES"]
    if jobids:
        cmd += ["-j", ",".join(map(str, jobids))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=cluster._env()).stdout
    keys = ["jobid", "comment", "state", "reqmem", "reqcpus", "account", "partition", "alloctres"]
    return [dict(zip(keys, l.split("|"))) for l in out.splitlines() if l.strip()]


TOY = """
rule all:
    input: expand("out/{i}.txt", i=range(3))

rule make:
    output: "out/{i}.txt"
    threads: 1
    resources: mem_mb=300, runtime=5
    shell: "echo $SLURM_JOB_ID > {output}; sleep 1"
"""


@pytest.mark.slurm
def test_toy_workflow_completes_on_slurm(slurm_cluster, tmp_path, python_env):
    (tmp_path / "Snakefile").write_text(TOY)
    # like the real workflow: <Snakefile dir>/profiles/default is applied automatically
    # as workflow profile on top of --profile; it must not break SLURM execution
    shutil.copytree(PROFILES / "default", tmp_path / "profiles" / "default")
    prof = make_test_profile(tmp_path, slurm_cluster)
    t0 = time.monotonic()
    p = snakemake(tmp_path, prof, python_env)
    dt = time.monotonic() - t0
    print(f"[slurm] toy workflow (3 jobs): {dt:.1f} s", file=sys.stderr)
    assert p.returncode == 0, log_of(p)
    assert "workflow specific profile profiles/default" in p.logpath.read_text()
    ids = [int((tmp_path / f"out/{i}.txt").read_text().strip()) for i in range(3)]
    assert len(set(ids)) == 3, "each job must have run in its own SLURM job"
    if slurm_cluster.accounting:
        rows = sacct_jobs(slurm_cluster, ids)
        assert len(rows) == 3, rows
        for r in rows:
            assert r["state"] == "COMPLETED", rows
            assert r["comment"].startswith("rule_make_wildcards_"), rows
            assert r["reqmem"] == "300M", rows
            assert r["account"] == C.ACCOUNT, rows
    else:
        out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%k|%T"], capture_output=True,
                             text=True, check=True, env=slurm_cluster._env()).stdout
        states = {l.split("|")[0]: l.split("|")[2] for l in out.splitlines()}
        assert all(states.get(str(i)) == "COMPLETED" for i in ids), out
    # (the plugin deletes the SLURM logs of successful jobs unless
    # --slurm-keep-successful-logs is given, so they are not checked here)


CANCEL = """
rule all:
    input: "slow.txt"

rule fast:
    output: "fast/{i}.txt"
    resources: mem_mb=300, runtime=5
    shell: "echo $SLURM_JOB_ID > {output}"

rule slow:
    input: expand("fast/{i}.txt", i=range(2))
    output: "slow.txt"
    # first attempt runs "forever" (it gets scancel-ed), a retry finishes at once
    resources: mem_mb=300, runtime=5, sleep_s=lambda wc, attempt: 300 if attempt == 1 else 0
    shell: "echo partial > {output}; sleep {resources.sleep_s}; echo $SLURM_JOB_ID > {output}"
"""


def _wait_running(cluster, rule: str, timeout=90) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        out = subprocess.run(["squeue", "-h", "-o", "%i|%k|%T"], capture_output=True, text=True,
                             env=cluster._env()).stdout
        for line in out.splitlines():
            jid, comment, state = line.split("|")
            if comment.startswith(f"rule_{rule}") and state == "RUNNING":
                return jid
        time.sleep(0.5)
    raise AssertionError(f"no RUNNING job of rule {rule} after {timeout} s")


def _scancel_slow(cluster, workdir: Path) -> str:
    jid = _wait_running(cluster, "slow")
    t0 = time.monotonic()
    while not (workdir / "slow.txt").exists() and time.monotonic() - t0 < 30:
        time.sleep(0.3)  # job has really started its shell command
    subprocess.run(["scancel", jid], check=True, env=cluster._env())
    return jid


def _fast_state(workdir: Path) -> dict:
    return {f.name: (f.stat().st_mtime_ns, f.read_text()) for f in sorted((workdir / "fast").iterdir())}


@pytest.mark.slurm
def test_cancelled_job_is_retried(slurm_cluster, tmp_path, python_env):
    """scancel a running job: the profile's `retries: 1` resubmits it; finished jobs stay.

    Needs `--slurm-status-command squeue`: with the default sacct status query,
    plugin 2.8.0 never notices a job cancelled by a user, because sacct reports
    its state as "CANCELLED by <uid>", which is not in the plugin's list of
    failed states, so it is polled as running forever (see the next test).
    """
    (tmp_path / "Snakefile").write_text(CANCEL)
    prof = make_test_profile(tmp_path, slurm_cluster, **{"slurm-status-command": "squeue"})
    t0 = time.monotonic()
    p = snakemake(tmp_path, prof, python_env, background=True)
    try:
        cancelled = _scancel_slow(slurm_cluster, tmp_path)
        fast_before = _fast_state(tmp_path)
        p.wait(timeout=120)
    finally:
        _end(p)
    print(f"[slurm] cancel+retry workflow: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    assert p.returncode == 0, log_of(p)
    final = (tmp_path / "slow.txt").read_text().strip()
    assert final.isdigit() and final != cancelled
    assert _fast_state(tmp_path) == fast_before, "finished jobs must not be rerun"
    if slurm_cluster.accounting:
        mine = {r["jobid"]: r for r in sacct_jobs(slurm_cluster)}
        assert mine[cancelled]["state"].startswith("CANCELLED"), mine
        assert mine[final]["state"] == "COMPLETED", mine
        assert [r["comment"] for r in mine.values()].count("rule_slow") >= 2
        for v in fast_before.values():
            assert mine[v[1].strip()]["state"] == "COMPLETED"


@pytest.mark.slurm
def test_interrupt_and_rerun_after_cancel_skips_finished_jobs(slurm_cluster, tmp_path, python_env):
    """Default status query (sacct): after a manual scancel, stop snakemake with Ctrl-C
    (SIGINT) and run it again (the profile has rerun-incomplete): only the cancelled
    job is redone, finished jobs are not rerun."""
    if not slurm_cluster.accounting:
        pytest.skip("needs sacct (slurmdbd)")
    (tmp_path / "Snakefile").write_text(CANCEL.replace("300 if attempt == 1 else 0", "300"))
    prof = make_test_profile(tmp_path, slurm_cluster)
    t0 = time.monotonic()
    p = snakemake(tmp_path, prof, python_env, background=True)
    try:
        cancelled = _scancel_slow(slurm_cluster, tmp_path)
        fast_before = _fast_state(tmp_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = {r["jobid"]: r["state"] for r in sacct_jobs(slurm_cluster, [cancelled])}
            if st.get(cancelled, "").startswith("CANCELLED"):
                break
            time.sleep(0.5)
        time.sleep(3)
        assert p.poll() is None, "snakemake ended by itself (plugin bug fixed? see docstring of test above)"
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    finally:
        _end(p)
    assert p.returncode != 0, log_of(p)

    # second run: make the slow rule quick, everything else unchanged
    (tmp_path / "Snakefile").write_text(CANCEL.replace("300 if attempt == 1 else 0", "0"))
    p2 = snakemake(tmp_path, prof, python_env)
    print(f"[slurm] cancel+interrupt+rerun: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    assert p2.returncode == 0, log_of(p2)
    assert _fast_state(tmp_path) == fast_before, "finished jobs must not be rerun"
    final = (tmp_path / "slow.txt").read_text().strip()
    assert final.isdigit() and final != cancelled
    log2 = log_of(p2)
    assert "rule fast:" not in log2 and "rule slow:" in log2, log2


def _end(p):
    """Make sure a background snakemake does not outlive its test."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


GPU_TOY = """
def gpu_resources():  # as in the real workflow's workflow/rules/common.smk
    return {"gpu": 1} if config.get("device", "gpu") == "gpu" else {}

rule all:
    input: "train.txt"

rule prep:
    output: "prep.txt"
    resources: mem_mb=300, runtime=5
    shell: "echo $SLURM_JOB_ID > {output}"

rule train:
    input: "prep.txt"
    output: "train.txt"
    threads: 1
    resources: mem_mb=300, runtime=5, **gpu_resources()
    shell: "echo $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES:-none}} > {output}"
"""


@pytest.mark.slurm
def test_slurm_gpu_profile_routes_gpu_rules(slurm_cluster, tmp_path, python_env):
    """slurm-gpu profile on the test cluster (2 fake GPUs, partitions debug + gpu):
    the rule declaring gpu=1 gets --gpus=1 in the gpu partition, the other one
    runs without GPU in the CPU partition."""
    (tmp_path / "Snakefile").write_text(GPU_TOY)
    prof = make_test_profile(tmp_path, slurm_cluster, name="slurm-gpu")
    t0 = time.monotonic()
    p = snakemake(tmp_path, prof, python_env)
    print(f"[slurm] gpu-profile workflow: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    assert p.returncode == 0, log_of(p)
    train_id, cuda = (tmp_path / "train.txt").read_text().split()
    prep_id = (tmp_path / "prep.txt").read_text().strip()
    assert cuda in ("0", "1"), "the GPU job must see its GPU"
    if slurm_cluster.accounting:
        rows = {r["jobid"]: r for r in sacct_jobs(slurm_cluster, [train_id, prep_id])}
        assert rows[train_id]["partition"] == C.GPU_PARTITION, rows
        assert "gres/gpu=1" in rows[train_id]["alloctres"], rows
        assert rows[prep_id]["partition"] == C.PARTITION, rows
        assert "gres/gpu" not in rows[prep_id]["alloctres"], rows


def test_profiles_are_safe():
    for name in ("default", "local-cpu", "local-gpu", "slurm-cpu", "slurm-gpu"):
        cfg = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
        if name.startswith("slurm"):
            assert cfg["executor"] == "slurm"
            assert cfg["default-resources"]["slurm_account"] == "<YOUR_ACCOUNT>"
        else:
            assert cfg.get("executor", "local") == "local", name
    # the auto-applied workflow profile overrides --profile keys: keep it minimal
    default = yaml.safe_load((PROFILES / "default" / "config.yaml").read_text())
    assert set(default) <= {"cores", "printshellcmds"}, default
