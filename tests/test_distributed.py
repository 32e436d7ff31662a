"""Data-parallel training under ``mpiexec -n 2``: the same weights as one process with the
global batch, rank failures that end the job, rank-0-only files, resume across rank counts."""

from __future__ import annotations

import csv
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import bpnn

JOB = pathlib.Path(__file__).with_name("distributed_job.py")


def _mpiexec():
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


pytestmark = pytest.mark.skipif(
    _mpiexec() is None or __import__("importlib").util.find_spec("mpi4py") is None,
    reason='MPI is not installed (pip install "bpnn[distributed]")')


def run_job(tmp_path, ranks, *options, check=True, timeout=120):
    """Run the job on ``ranks`` processes (0: one plain process); the saved arrays."""
    out = tmp_path / f"out-{ranks}-{abs(hash(options))}.npz"
    command = [sys.executable, str(JOB), str(out), *options]
    if ranks:
        command = [_mpiexec(), "-n", str(ranks), *command]
    else:
        command.append("--single")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert done.returncode == 0, done.stderr
        return np.load(out), done
    return None, done


def assert_same_run(a, b, tolerance=1e-12):
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=tolerance)
    for name in a.files:
        np.testing.assert_allclose(a[name], b[name], rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path, optimizer):
    """2 ranks with batch 4 = 1 process with batch 8 (103 rows: an uneven last batch),
    to the order of the floating-point sums."""
    distributed, _ = run_job(tmp_path, 2, "--optimizer", optimizer, "--batch-size", "4")
    single, _ = run_job(tmp_path, 0, "--optimizer", optimizer, "--batch-size", "8")
    assert_same_run(distributed, single)
    assert distributed["loss"][-1] < distributed["loss"][0]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_distributed_estimator_equals_one_process(tmp_path, solver):
    """MLPRegressor(distributed=True) on 2 ranks: scikit-learn's alpha shared by the global
    batch; lbfgs sums each evaluation over the ranks."""
    options = ["--estimator", solver, "--epochs", "15"]
    distributed, _ = run_job(tmp_path, 2, *options, "--batch-size", "4")
    single, _ = run_job(tmp_path, 0, *options, "--batch-size", "8")
    assert_same_run(distributed, single, tolerance=1e-9)
    saved = [path for path in tmp_path.iterdir() if path.suffix == ".bpnn"]
    model = bpnn.MLPRegressor.load(saved[0])  # written by rank 0 on the distributed run
    assert model.distributed in (True, False) and model.n_outputs_ == 2


def test_only_rank_zero_writes_the_log(tmp_path):
    log = tmp_path / "log.csv"
    run_job(tmp_path, 2, "--log", str(log))
    with log.open() as file:
        rows = list(csv.reader(file))
    assert rows[0][:2] == ["epoch", "loss"] and len(rows) == 1 + 4


def test_a_failing_rank_ends_the_job_and_the_checkpoint_stays_valid(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    _, done = run_job(tmp_path, 2, "--epochs", "10", "--fail-rank", "1", "--checkpoint",
                      str(checkpoint), check=False)
    assert done.returncode != 0
    # said once, after the traceback, however soon mpiexec ends the job
    summary = ("bpnn: rank 1 of 2 failed: RuntimeError: a failure injected on purpose; "
               "aborting the MPI job")
    assert done.stderr.count(summary) == 1, done.stderr
    assert done.stderr.index("Traceback") < done.stderr.index(summary)
    bpnn.load(checkpoint)  # rank 0 wrote it atomically: it loads


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs POSIX kill")
def test_a_killed_rank_ends_the_job(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    _, done = run_job(tmp_path, 2, "--epochs", "50", "--fail-rank", "1", "--die",
                      "--checkpoint", str(checkpoint), check=False)
    assert done.returncode != 0  # mpiexec ends the other rank (no hang: run_job's timeout)
    bpnn.load(checkpoint)


def test_resume_with_the_same_or_another_number_of_ranks(tmp_path):
    whole, _ = run_job(tmp_path, 2, "--epochs", "6")
    checkpoint = tmp_path / "run.ckpt"
    run_job(tmp_path, 2, "--epochs", "3", "--checkpoint", str(checkpoint))
    same, _ = run_job(tmp_path, 2, "--epochs", "6", "--checkpoint", str(checkpoint), "--resume")
    assert_same_run(same, whole, tolerance=0)  # bit for bit
    run_job(tmp_path, 2, "--epochs", "3", "--checkpoint", str(checkpoint))
    # one rank with batch 8 continues the run that 2 ranks with batch 4 began
    other, _ = run_job(tmp_path, 1, "--epochs", "6", "--batch-size", "8", "--checkpoint",
                       str(checkpoint), "--resume")
    assert_same_run(other, whole)


def test_each_rank_reads_its_rows_from_files(tmp_path):
    """X and T as .npy files: each rank reads only its piece of each batch, and the run is
    the one-process run on the arrays."""
    distributed, _ = run_job(tmp_path, 2, "--files", str(tmp_path), "--optimizer", "adam")
    single, _ = run_job(tmp_path, 0, "--optimizer", "adam", "--batch-size", "8")
    assert_same_run(distributed, single)


@pytest.mark.parametrize(("option", "message"), [
    ("--sample-weight", "distributed=True takes no sample_weight"),
    ("--iterator", "distributed=True cannot shard a batch iterator")])
def test_what_is_not_sharded_yet_is_refused(tmp_path, option, message):
    _, done = run_job(tmp_path, 1, option, check=False)
    assert done.returncode != 0 and message in done.stderr


def test_without_mpi_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    net = bpnn.mlp([2, 3, 1], seed=0)
    with pytest.raises(ImportError, match=r'pip install "bpnn\[distributed\]"'):
        net.fit(np.zeros((4, 2)), np.zeros((4, 1)), distributed=True)


def write_table(tmp_path, rows=300):
    """A CSV of ``rows`` rows, columns a, b, c and y = a - 2 b; its path and X."""
    X = np.random.default_rng(0).normal(size=(rows, 3))
    table = tmp_path / "t.csv"
    with table.open("w") as file:
        file.write("a,b,c,y\n")
        for row, value in zip(X, X[:, 0] - 2 * X[:, 1]):
            file.write(",".join(repr(float(v)) for v in [*row, value]) + "\n")
    return table, X


def test_bpnn_train_distributed_saves_once_and_predicts(tmp_path):
    table, X = write_table(tmp_path)
    out = tmp_path / "m.bpnn"
    done = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "bpnn", "train",
                           str(table), "--target", "y", "--distributed", "--epochs", "20",
                           "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # --quiet removes the bar only; rank 1 never prints, rank 0 says how many ranks ran
    assert done.stdout.count("model saved to") == 1 and " on 2 ranks in " in done.stdout
    from bpnn.data.rows import ArrayRows
    from bpnn.tabular import TabularModel

    scores = TabularModel.load(out).evaluate(ArrayRows(X), X[:, 0] - 2 * X[:, 1])
    assert scores["r2"] > 0.8


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGINT"), reason="needs POSIX signals")
def test_ctrl_c_on_bpnn_train_distributed_says_how_to_resume(tmp_path):
    """Ctrl-C reaches every rank through mpiexec; the job ends with the resume command
    (under mpiexec) and no traceback, and the checkpoint loads."""
    import signal
    import time

    table, _ = write_table(tmp_path)
    checkpoint = tmp_path / "run.ckpt"
    job = subprocess.Popen([_mpiexec(), "-n", "2", sys.executable, "-m", "bpnn", "train",
                            str(table), "--target", "y", "--distributed", "--epochs", "100000",
                            "--no-early-stopping", "--quiet", "--checkpoint", str(checkpoint),
                            "--out", str(tmp_path / "m.bpnn")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpoint.exists(), "no checkpoint was written: the run did not start"
        job.send_signal(signal.SIGINT)
        _, stderr = job.communicate(timeout=120)
    finally:
        job.kill()
    assert job.returncode != 0
    assert "of 2 was interrupted; aborting the MPI job" in stderr, stderr
    assert f"Continue it with:\n  mpiexec -n 2 bpnn train {table}" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    bpnn.load(checkpoint)


def test_two_ranks_on_gpus_take_one_gpu_each(tmp_path):
    """One GPU per rank (by its index on the node): the same run as one process on one GPU,
    and, where the stand-in counts CUDA contexts, no rank touches another rank's GPU."""
    from bpnn.backends import BACKENDS

    available, reason = BACKENDS["cupy"].availability()
    if not available:
        pytest.skip(reason)
    distributed, _ = run_job(tmp_path, 2, "--backend", "cupy", "--batch-size", "4")
    single, _ = run_job(tmp_path, 0, "--backend", "cupy", "--batch-size", "8")
    assert_same_run(distributed, single, tolerance=1e-6)  # float64 sums in another order
    out = tmp_path / f"out-2-{abs(hash(('--backend', 'cupy', '--batch-size', '4')))}.npz"
    import cupy

    gpus = cupy.cuda.runtime.getDeviceCount()
    for rank in (0, 1):
        spec, contexts = (tmp_path / f"{out.name}.rank{rank}.txt").read_text().split(" ", 1)
        assert spec == f"cupy:{rank % gpus}"
        if contexts.strip() != "uncounted":
            assert contexts.strip() == f"[{rank % gpus}]"
