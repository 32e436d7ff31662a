"""``bpnn bench``: every workload runs (tiny sizes), the table, JSON and plot are
written, and bad options are clear errors.  The timings themselves are never asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from bpnn.benchmarks import compare_revisions, crossover, runner
from bpnn.benchmarks.gemm_bound import gemm_epoch
from bpnn.cli import main

HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_quick_bench_writes_table_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code = main(["bench", "--quick", "--workloads", "seed-sin,mlp,crossover,large,estimators",
                 "--backends", "numpy,array_api_strict", "--peers", "numpy-hand",
                 "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("machine: bpnn ") and "cpu_threads" in out
    for heading in ("seed-sin", "mlp", "crossover", "large", "estimators"):
        assert f"\n{heading}\n" in out
    results = json.loads((tmp_path / "r.json").read_text())
    assert set(results["machine"]["backends"]) == {"numpy", "array_api_strict"}
    rows = results["results"]
    who = {(row["workload"], row["who"]) for row in rows}
    assert ("seed-sin", "numpy-hand") in who and ("mlp", "GEMM-only bound (numpy)") in who
    assert ("mlp", "bpnn array_api_strict") in who and ("large", "bpnn numpy") in who
    assert ("estimators", "scikit-learn") in who and ("estimators", "bpnn numpy") in who
    assert all("of_bound" in row for row in rows if row["workload"] in ("mlp", "large"))
    for row in rows:
        speed = row.get("samples_per_s", row.get("us_per_step", row.get("seconds")))
        assert speed > 0
        assert row.get("runs", 5) >= 1
    assert all(0 < row["of_bound"] for row in rows if "of_bound" in row)
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_crossover_points_find_the_first_faster_batch():
    rows = [{"workload": "crossover", "who": f"bpnn {who}", "width": width, "batch": batch,
             "samples_per_s": speed}
            for who, width, batch, speed in [
                ("numpy", 16, 1, 100), ("cupy", 16, 1, 10), ("numpy", 16, 128, 1000),
                ("cupy", 16, 128, 900), ("numpy", 1024, 1, 50), ("cupy", 1024, 1, 20),
                ("numpy", 1024, 128, 200), ("cupy", 1024, 128, 800)]]
    assert crossover.crossover_points(rows, "numpy", "cupy") == {16: None, 1024: 128}


@pytest.mark.parametrize(("argv", "message"), [
    (["--workloads", "mnist"], "unknown workloads ['mnist']"),
    (["--peers", "tensorflow"], "unknown peers ['tensorflow']"),
    (["--repeats", "3"], "--repeats must be at least 5"),
    (["--backends", "tpu"], "unknown backend 'tpu'"),
])
def test_bad_options_are_clear_errors(capsys, argv, message):
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("where", ["folder", "same-as-plot", "fifo"])
def test_an_unwritable_json_is_refused_before_measuring(tmp_path, capsys, monkeypatch, where):
    from bpnn.benchmarks import runner

    def measured(*args, **kwargs):
        raise AssertionError("the benchmarks ran before the output was checked")

    monkeypatch.setattr(runner, "run", measured)
    path = tmp_path / "r.json"
    options = ["--json", str(path)]
    if where == "folder":
        path.mkdir()
    elif where == "same-as-plot":
        options += ["--plot", str(path)]
    else:
        os.mkfifo(path)
    assert main(["bench", "--quick", *options]) == 2
    assert "r.json" in capsys.readouterr().err
    kind = {"folder": stat.S_ISDIR, "fifo": stat.S_ISFIFO}.get(where)
    assert kind is None or kind(path.stat().st_mode)  # left as it was


def test_every_workload_is_known_to_the_runner():
    assert runner.WORKLOADS == ("seed-sin", "mlp", "crossover", "large", "estimators",
                                "serve", "panel")


def test_quick_panel_scores_bpnn_train_and_scikit_learn(capsys):
    pytest.importorskip("sklearn")
    code = main(["bench", "--quick", "--workloads", "panel", "--peers", "numpy-hand"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0 and "\npanel\n" in out and "scikit-learn" in out
    assert "panel: 0 runs" in captured.err  # the workload's bar (redrawn as tqdm pleases)
    assert "(test scores on a 25% split, accuracy or R², higher is better" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("  iris",
                                                                          "  diabetes"))]
    assert [row[:2] for row in rows] == [["iris", "accuracy"], ["diabetes", "R²"]]
    assert 0.5 < float(rows[0][3]) <= 1.0 and float(rows[1][3]) <= 1.0


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_quick_bench_runs_on_torch_with_its_peers(capsys):
    code = main(["bench", "--quick", "--workloads", "mlp,large", "--backends", "torch",
                 "--peers", "torch,torch-cuda,sklearn"])
    out = capsys.readouterr().out
    assert code == 0
    assert "GEMM-only bound (torch)" in out and "GEMM-only bound (numpy)" in out
    for who in ("bpnn torch", "  torch ", "sklearn"):
        assert who in out
    # PyTorch on the GPU where there is one; where not, the run says why it left it out
    assert "\n  torch-cuda " in out or "(peer torch-cuda skipped: backend 'torch:cuda'" in out


def test_gemm_bound_runs_the_steps_products(monkeypatch):
    """3L - 1 products per step for L layers, of the shapes the step multiplies."""
    shapes = []

    class Recording(np.ndarray):
        def __matmul__(self, other):
            shapes.append((self.shape, other.shape))
            return np.asarray(self) @ np.asarray(other)

    from bpnn.backends import get_backend

    backend = get_backend("numpy")
    monkeypatch.setattr(type(backend), "asarray",
                        lambda self, x, dtype=None: np.asarray(x, dtype=dtype).view(Recording))
    gemm_epoch("numpy", (5, 4, 3, 2), n_samples=6, batch_size=3, dtype="float64")()
    step = [((3, 5), (5, 4)), ((3, 4), (4, 3)), ((3, 3), (3, 2)),   # forward
            ((3, 3), (3, 2)), ((3, 2), (2, 3)),                      # layer 3: dW, dX
            ((4, 3), (3, 3)), ((3, 3), (3, 4)),                      # layer 2
            ((5, 3), (3, 4))]                                         # layer 1: dW only
    assert shapes == step + step


@pytest.mark.parametrize(("options", "epochs", "samples", "dtypes"), [
    ([], 201, 20000, ("float32",)),
    (["--full"], 2001, 60000, ("float32", "float64"))])
def test_default_sizes_take_minutes_and_full_the_published_ones(capsys, monkeypatch, options,
                                                                 epochs, samples, dtypes):
    from bpnn.benchmarks import mlp, seed_sin

    seen = {}
    monkeypatch.setattr(seed_sin, "run", lambda *a, **k: seen.update(seed_sin=k) or [])
    monkeypatch.setattr(mlp, "run", lambda *a, **k: seen.update(mlp=k) or [])
    assert main(["bench", "--peers", "numpy-hand", *options]) == 0
    assert seen["seed_sin"]["epochs"] == epochs
    assert seen["mlp"]["n_samples"] == samples and seen["mlp"]["dtypes"] == dtypes


@pytest.mark.parametrize("argv, message", [
    (["--base", "HEAD", "--workloads", "seed-sin,bogus"], "unknown workloads ['bogus']"),
    (["--base", "HEAD", "--workloads", ","], "nothing to measure"),
    (["--base", "HEAD", "--pairs", "0"], "nothing to measure"),
    (["--base", "no-such-revision"], "--base 'no-such-revision' is no commit of this clone"),
    (["--base", "HEAD", "--head", "HEAD~999999"], "--head 'HEAD~999999' is no commit"),
    (["--base", "HEAD", "--head", "HEAD:README.md"], "is no commit"),  # a file, not a commit
])
def test_compare_revisions_refuses_bad_options_before_installing(capsys, monkeypatch, argv,
                                                                 message):
    if not (compare_revisions.ROOT / ".git").exists():
        pytest.skip("compare_revisions runs from a clone; this bpnn is installed elsewhere")
    monkeypatch.setattr(compare_revisions, "install", lambda *a: pytest.fail("installed"))
    with pytest.raises(SystemExit) as exit_info:
        compare_revisions.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_compare_revisions_says_it_needs_setuptools(capsys, monkeypatch):
    if not (compare_revisions.ROOT / ".git").exists():
        pytest.skip("compare_revisions runs from a clone; this bpnn is installed elsewhere")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "setuptools" else real(name, *a))
    monkeypatch.setattr(compare_revisions, "install", lambda *a: pytest.fail("installed"))
    with pytest.raises(SystemExit) as exit_info:
        compare_revisions.main(["--base", "HEAD"])
    assert exit_info.value.code == 2
    assert "needs setuptools: pip install setuptools" in capsys.readouterr().err


@pytest.mark.parametrize("workload", sorted(compare_revisions.MEASURE))
def test_compare_revisions_measures_each_workload(workload):
    """Each workload's measuring process runs on this installation (1 epoch, 1 fit) and
    prints a positive time per step; the comparison's pairs are two such processes."""
    result = subprocess.run([sys.executable, "-c", compare_revisions.MEASURE[workload], "1",
                             "1"], capture_output=True, text=True, timeout=300, check=True)
    assert float(result.stdout.split()[-1]) > 0
