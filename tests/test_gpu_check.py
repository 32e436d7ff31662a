"""``python -m bpnn.benchmarks.gpu_check`` where there is no GPU: the steps it can run, the
GPU steps skipped with their reason, the summary files, the exit codes, the time-box that
kills a hanging step; and the streamed-against-memory bit comparison on every backend."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest

from bpnn.backends import BackendError, get_backend
from bpnn.benchmarks import crossover, gpu_check
from bpnn.benchmarks.gpu_check import Step, check, stream_matches_memory

REPO = pathlib.Path(__file__).resolve().parents[1]
GPU_STEPS = [name for name in gpu_check.STEP_NAMES if name != "machine"]


def _gpu_here():
    """Whether a real CUDA device answers (the suite's cupy may be the CPU stand-in)."""
    specs = ["torch:cuda"] + (["cupy"] if os.environ.get("BPNN_TEST_CUPY") != "standin" else [])
    for spec in specs:
        try:
            get_backend(spec)
            return True
        except BackendError:
            pass
    return False


def _python(code):
    return [sys.executable, "-c", code]


def _run(*arguments, env=None, timeout=180):
    """The command as a user runs it: without the suite's stand-in for CuPy (conftest.py
    hands it to child processes) and without the suite's default backend."""
    clean = {key: value for key, value in os.environ.items()
             if key not in ("BPNN_TEST_CUPY", "BPNN_BACKEND", "PYTHONPATH")}
    paths = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if path and pathlib.Path(path).resolve() != REPO / "tests"]
    if paths:
        clean["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-m", "bpnn.benchmarks.gpu_check", *arguments],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**clean, **(env or {})})


@pytest.mark.skipif(_gpu_here(), reason="a GPU is here: run the command itself")
def test_without_a_gpu_it_describes_the_machine_and_skips_the_gpu_steps(tmp_path):
    done = _run("--out", str(tmp_path))
    assert done.returncode == gpu_check.NO_GPU, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("OVERALL: NOTHING PROVEN")
    assert any(line.split()[:2] == ["PASS", "machine"] for line in lines)
    for name in GPU_STEPS:
        assert any(line.split()[:2] == ["SKIP", name] for line in lines), name
    (summary,) = tmp_path.glob("*-gpu-check.json")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+-gpu-check\.json", summary.name)
    record = json.loads(summary.read_text())
    assert [step["name"] for step in record["steps"]] == gpu_check.STEP_NAMES
    assert record["exit_code"] == gpu_check.NO_GPU
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert record["machine"]["python"] and record["machine"]["numpy"]
    machine = record["steps"][0]
    assert machine["status"] == "pass" and "bpnn info" in machine["details"]["text"]
    for step in record["steps"][1:]:
        assert step["status"] == "skipped", step
        # the reason names what is missing: CuPy's CUDA device, PyTorch's, or MPI
        assert any(word in step["reason"] for word in ("cupy", "CUDA", "torch", "MPI")), step
        assert (tmp_path / step["log"]).exists()
    markdown = summary.with_suffix(".md").read_text()
    assert "| `suite-cupy` | skipped |" in markdown and "$ bpnn info" in markdown
    assert not list(tmp_path.glob("*-bench.json"))  # no GPU, no bench


def test_a_failing_step_fails_the_check_and_the_others_still_run(tmp_path):
    lines = []
    skip = ("from bpnn.benchmarks.gpu_check import Report; import sys; "
            "sys.exit(Report().finish('skipped', 'no widget here'))")
    steps = [Step("fine", "prints", _python("print('fine')"), 30, gpu=False),
             Step("broken", "fails", _python("import sys; print('boom'); sys.exit(2)"), 30,
                  gpu=False),
             Step("absent", "skips", _python(skip), 30, gpu=False)]
    code = check(steps, tmp_path, "run", budget=120, write=lines.append)
    assert code == 1
    assert lines[-1] == "OVERALL: FAIL (broken)"
    record = json.loads((tmp_path / "run.json").read_text())
    outcomes = {step["name"]: step for step in record["steps"]}
    assert outcomes["fine"]["status"] == "pass"
    assert outcomes["broken"]["status"] == "fail"
    assert outcomes["broken"]["reason"] == "exit code 2: boom"
    assert outcomes["broken"]["log_tail"][-1] == "boom"
    assert outcomes["absent"]["status"] == "skipped"
    assert outcomes["absent"]["reason"] == "no widget here"
    assert "| `broken` | fail |" in (tmp_path / "run.md").read_text()


def test_passing_steps_pass_and_gpu_steps_that_all_skip_prove_nothing(tmp_path):
    fine = Step("fine", "prints", _python("pass"), 30, gpu=False)
    assert check([fine], tmp_path, "a", budget=60, write=lambda line: None) == 0
    skip = ("from bpnn.benchmarks.gpu_check import Report; import sys; "
            "sys.exit(Report().finish('skipped', 'no GPU'))")
    gpu = Step("on-gpu", "skips", _python(skip), 30, gpu=True)
    assert check([fine, gpu], tmp_path, "b", budget=60, write=lambda line: None) == \
        gpu_check.NO_GPU


def test_a_hanging_step_is_killed_at_its_limit_with_everything_it_started(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    hang = ("import subprocess, sys, time\n"
            "from bpnn.benchmarks.gpu_check import Report\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "start_new_session=True)\n"  # out of the step's process group: still found
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "Report().progress('waiting for the lock')\n"
            "time.sleep(60)\n")
    steps = [Step("hang", "hangs", _python(hang), 60, floor=1, gpu=False),
             Step("after", "runs after it", _python("print('after')"), 30, floor=4,
                  gpu=False)]
    lines = []
    start = time.monotonic()
    code = check(steps, tmp_path, "run", budget=8, write=lines.append)
    assert time.monotonic() - start < 20
    assert code == 1 and lines[-1] == "OVERALL: FAIL (hang)"
    record = json.loads((tmp_path / "run.json").read_text())
    hung, after = record["steps"]
    # its limit: the budget less the time kept for the step after it
    assert hung["limit"] <= 4 and hung["seconds"] < 7
    assert hung["reason"].startswith("timed out after")
    assert hung["reason"].endswith("it was at: waiting for the lock")
    assert after["status"] == "pass"
    pid = int(pid_file.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid):
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_no_time_left_means_the_step_fails_unrun(tmp_path):
    steps = [Step("late", "never starts", _python("pass"), 30, gpu=False)]
    assert check(steps, tmp_path, "run", budget=2, write=lambda line: None) == 1
    (late,) = json.loads((tmp_path / "run.json").read_text())["steps"]
    assert late["status"] == "fail" and late["reason"].startswith("not run")


def test_a_streamed_fit_is_bit_identical_to_the_fit_from_memory(backend_name, backend):
    streamed = stream_matches_memory(backend_name)
    assert streamed["identical"] and streamed["max_abs_difference"] == 0.0
    assert streamed["mode"] == "streamed batch by batch"
    assert streamed["batches"] >= 20 and streamed["epochs"] > 2
    on_gpu = backend.free_memory() is not None
    # a GPU holds the files in several chunks; a host backend streams them (fewer rows)
    preloaded = stream_matches_memory(backend_name, preload=True,
                                      **({} if on_gpu else {"rows": 3000, "batch_size": 128}))
    assert preloaded["identical"] and preloaded["batches"] >= 20
    if on_gpu:
        assert preloaded["mode"].startswith("preloaded onto the device in 3 chunks")
    else:
        assert preloaded["mode"].startswith("streamed")


def test_the_bit_comparison_sees_two_different_fits():
    other = stream_matches_memory("numpy", file_seed=1)
    assert not other["identical"] and not other["weights_identical"]
    assert other["max_abs_difference"] > 0


def test_the_bench_step_stores_its_workloads_through_the_runner(tmp_path, monkeypatch):
    monkeypatch.setattr(crossover, "QUICK_WIDTHS", (16,))
    monkeypatch.setattr(crossover, "QUICK_BATCHES", (1, 16))
    sizes = {"repeats": 1, "mlp": {"n_samples": 256, "batch_sizes": (64,), "dtypes": ("float32",)},
             "large": {"samples": 256, "cpu_samples": 256},
             "crossover": {"quick": True, "steps": 2}}
    # array_api_strict stands in for a GPU backend: crossover finds where it beats NumPy
    backends = ["numpy", "array_api_strict"]
    json_path, text_path = gpu_check.run_bench(tmp_path, "run", backends, [], sizes)
    stored = json.loads(json_path.read_text())
    assert stored["machine"]["backends"] == {name: get_backend(name).describe()
                                             for name in backends}
    assert {row["workload"] for row in stored["results"]} == {"mlp", "large", "crossover"}
    assert {row["who"] for row in stored["results"] if row["workload"] == "crossover"} == \
        {"bpnn numpy", "bpnn array_api_strict"}
    text = text_path.read_text()
    assert "bpnn numpy" in text and "GEMM-only bound (array_api_strict)" in text
    assert text.index("\nmlp\n") < text.index("\nlarge\n") < text.index("\ncrossover\n")
    assert "smallest batch at which array_api_strict beats numpy, by width: 16: " in text


@pytest.mark.skipif(shutil.which("mpiexec") is None and
                    not pathlib.Path(sys.executable).with_name("mpiexec").exists(),
                    reason="MPI is not installed")
def test_the_mpi_step_on_the_host_stand_in(tmp_path):
    """The MPI step's own code, with NumPy standing in for the GPU backend: where the two
    ranks trained, then tests/test_distributed.py's jobs against one process."""
    pytest.importorskip("mpi4py")
    result = tmp_path / "mpi.json"
    done = _run("--worker", "mpi", env={gpu_check.HOST_VARIABLE: "1", "BPNN_BACKEND": "numpy",
                                        gpu_check.RESULT_VARIABLE: str(result)})
    record = json.loads(result.read_text())
    assert done.returncode == 0 and record["status"] == "pass", done.stdout + done.stderr
    assert re.match(r"rank 0 on numpy, rank 1 on numpy; ([4-9]) passed, 0 failed",
                    record["reason"]), record["reason"]
    assert [rank["rank"] for rank in record["details"]["ranks"]] == [0, 1]


def test_the_suite_step_counts_and_fails_on_the_host_stand_in(tmp_path):
    result = tmp_path / "suite.json"
    env = {gpu_check.HOST_VARIABLE: "1", gpu_check.RESULT_VARIABLE: str(result)}
    done = _run("--worker", "suite", "--backend", "numpy", "--tests", "tests/test_losses.py",
                "tests/test_no_array_imports.py", env=env)
    record = json.loads(result.read_text())
    assert done.returncode == 0 and record["status"] == "pass", done.stdout + done.stderr
    counts = record["details"]["counts"]
    assert counts["passed"] > 10 and counts["failed"] == 0
    assert counts["deselected"] > 0  # the import test takes no backend
    done = _run("--worker", "suite", "--backend", "numpy", "--tests",
                "tests/test_losses.py::no_such_test", env=env)
    record = json.loads(result.read_text())
    assert done.returncode == 1 and record["status"] == "fail"
    assert record["reason"].startswith("pytest exit code 4")
