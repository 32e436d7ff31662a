"""Ranks that disagree (issue 15, class 8): under ``mpiexec -n 2``, rank 1 with other data,
another option, or an error of its own ends the job on both ranks with a message naming
what differs; no rank is left waiting (every job runs under a 60 s timeout)."""

from __future__ import annotations

import subprocess

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
    call: refused() fails on a hang.  (Its message is not asserted: MPI_Abort may end the
    job before mpiexec has forwarded rank 1's stderr.)"""
    refused(tmp_path, "--rank1-raise", when)
