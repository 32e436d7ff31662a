"""Ranks that disagree (issue 15, class 8): under ``mpiexec -n 2``, rank 1 with other data,
another option, or an error of its own ends the job on both ranks with a message naming
what differs; no rank is left waiting (every job runs under a 60 s timeout)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from test_distributed import pytestmark, run_job  # noqa: F401 - skipped without MPI

TIMEOUT = 60


def refused(tmp_path, *options):
    """Run the 2-rank job, which must fail on every rank in time; its stderr."""
    try:
        _, done = run_job(tmp_path, 2, *options, check=False, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the job with {options} hung: a rank was left waiting")
    assert done.returncode != 0, done.stderr
    return done.stderr


@pytest.mark.parametrize(("options", "words"), [
    (["--rank1-rows-minus", "17"], ["disagree on rows", "rank 0: 103, rank 1: 86"]),
    (["--rank1-rows-minus", "1"], ["disagree on rows", "rank 0: 103, rank 1: 102"]),
    (["--rank1-epochs", "3"], ["disagree on", "epochs (rank 0: 4, rank 1: 3)"]),
    (["--rank1-perturb"], ["disagree on data digest"]),
    (["--rank1-nan"], ["rank 1 of 2 failed before training", "NaN"]),
    (["--rank1-nan", "--files", "{tmp}"], ["rank 1 of 2 failed before training", "NaN"]),
    (["--rank1-rows-minus", "17", "--estimator", "lbfgs"], ["disagree on rows"]),
    (["--rank1-epochs", "3", "--estimator", "adam"], ["disagree on", "epochs"]),
])
def test_a_disagreeing_rank_is_refused_on_every_rank(tmp_path, options, words):
    stderr = refused(tmp_path, *[option.format(tmp=tmp_path) for option in options])
    for word in words:
        assert word in stderr
    # both ranks raised (rank 0 did not wait) and exited with code 2, none aborted
    assert "rank 0: RanksDisagree: " in stderr and "rank 1: " in stderr
    assert "MPI_Abort" not in stderr


def test_the_data_digest_is_no_disagreement_between_equal_ranks(tmp_path):
    run_job(tmp_path, 2, "--epochs", "1", timeout=TIMEOUT)


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_exception_before_or_after_fit_ends_the_job(tmp_path, when):
    """Rank 1's uncaught error ends the job (MPI_Abort) while rank 0 waits in a collective
    call: refused() fails on a hang.  Python prints the traceback, bpnn the summary, once."""
    stderr = refused(tmp_path, "--rank1-raise", when)
    summary = (f"bpnn: rank 1 of 2 failed: RuntimeError: a failure {when} fit, injected on "
               "purpose; aborting the MPI job")
    assert stderr.count(summary) == 1, stderr
    assert stderr.count("Traceback (most recent call last)") == 1, stderr


def _rank_tables(tmp_path, spoil):
    """``data0.csv`` and ``data1.csv``: the same table, rank 1's spoiled by ``spoil(lines)``."""
    lines = ["a,b,y"] + [f"{i / 7:.6f},{(i % 5) / 3:.6f},{i % 3}" for i in range(60)]
    (tmp_path / "data0.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "data1.csv").write_text("\n".join(spoil(lines)) + "\n")


def bpnn_train_on_two_ranks(tmp_path, *options):
    """``bpnn train data{RANK}.csv --distributed`` on 2 ranks (each rank reads its own copy
    of the table); the finished process, which must end within the timeout."""
    from test_distributed import _mpiexec

    rank_table = str(tmp_path / "data") + "${PMI_RANK:-$OMPI_COMM_WORLD_RANK}.csv"
    command = (f'exec "{sys.executable}" -m bpnn train "{rank_table}" --target y '
               f'--distributed --epochs 2 --quiet --out "{tmp_path / "m.bpnn"}" '
               + " ".join(options))
    try:
        return subprocess.run([_mpiexec(), "-n", "2", "sh", "-c", command],
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("bpnn train --distributed hung: a rank was left waiting")


@pytest.mark.parametrize(("spoil", "words"), [
    (lambda lines: [*lines[:5], "nan,1.0,1", *lines[6:]], ["rank 1 of 2 failed", "NaN"]),
    (lambda lines: lines[:-17], ["disagree on rows"]),
    (lambda lines: [lines[0].replace("a", "z"), *lines[1:]], ["disagree on columns", "rank 1: ['z', 'b']"]),
], ids=["nan", "17-rows-fewer", "other-columns"])
def test_bpnn_train_distributed_refuses_a_rank_with_other_data(tmp_path, spoil, words):
    _rank_tables(tmp_path, spoil)
    done = bpnn_train_on_two_ranks(tmp_path)
    assert done.returncode == 2, done.stderr  # bad input on every rank, no MPI_Abort
    for word in words:
        assert word in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "m.bpnn").exists()


def test_bpnn_train_distributed_trains_when_the_ranks_agree(tmp_path):
    _rank_tables(tmp_path, lambda lines: lines)
    done = bpnn_train_on_two_ranks(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.bpnn").exists()
