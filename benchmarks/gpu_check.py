"""One command that checks bpnn on a CUDA GPU machine: ``python -m bpnn.benchmarks.gpu_check``.

In one call, well under 8 minutes, it runs, each step in its own process group
under a time limit (a step that hangs is killed, and the summary still prints):

* ``machine`` — the machine described: ``bpnn info``, ``nvidia-smi``, the CPUs,
  the versions of Python, NumPy, CuPy, PyTorch, CUDA and MPI;
* ``stream-cupy``, ``stream-torch-cuda`` — a fit streamed batch by batch from
  ``.npy`` files, and one preloaded onto the GPU in several chunks, each
  bit-compared with the same fit from memory (:func:`stream_matches_memory`);
* ``suite-cupy``, ``suite-torch-cuda`` — the tests that take a backend, on that
  backend (``pytest --backend cupy``), stopping at the first failure;
* ``cupy-1`` — the second GPU, where there is one: the streamed comparison and
  the core tests on ``cupy:1``;
* ``mpi-cupy`` — a 2-rank MPI job on the GPUs (one per local rank; with one GPU
  both share it), where ``mpiexec`` and mpi4py are installed: where each rank
  trained, then ``tests/test_distributed.py``'s jobs against one process;
* ``bench`` — the ``mlp``, ``large`` and ``crossover`` workloads on the GPU
  backends beside PyTorch CUDA eager (the ``torch-cuda`` peer), stored through
  :mod:`.runner` as ``<stem>-bench.json`` and ``.txt``.

A step that cannot run here (no CUDA device, PyTorch without CUDA, one GPU, no
MPI) is reported as skipped, with the reason.  The summary goes to
``benchmarks/results/`` (``--out DIR`` for another folder):
``<date>-<machine>-gpu-check.json`` and ``.md``, with every step's log in
``<stem>-logs/``.  The last line printed is the verdict; the exit code is 0
when every step that ran passed and at least one ran on a GPU, 1 when a step
failed, 3 when nothing failed but no step could use a GPU (nothing was proven).

Steps run in turn, each as ``python -m bpnn.benchmarks.gpu_check --worker ...``,
within a total budget (``--budget``, default 450 s): a step's time limit is
its own cap, shortened so that every later step keeps its minimum.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = pathlib.Path(__file__).resolve().parent / "results"
#: The total time of one check, seconds: the issue asks for under 8 minutes.
BUDGET = 450.0
#: A step given less time than this (seconds) is not started: it fails, unrun.
MIN_LIMIT = 2.0
#: The exit code when nothing failed but no step could use a GPU.
NO_GPU = 3
#: The environment variables through which a worker finds its result file and its
#: time limit in seconds.
RESULT_VARIABLE = "BPNN_GPU_CHECK_RESULT"
LIMIT_VARIABLE = "BPNN_GPU_CHECK_LIMIT"
#: The bench runs its full sizes when it is given at least this many seconds, else the
#: quick ones (the steps before it took the time).
FULL_BENCH_SECONDS = 100
#: Set to 1, the workers accept host backends in place of GPU ones: how the tests run
#: the GPU steps' code on a machine without a GPU.
HOST_VARIABLE = "BPNN_GPU_CHECK_HOST"
PYTEST_OPTIONS = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-profile", "dev",
                  "--durations=15"]
#: The tests run on a second GPU (``cupy:1``): the network, training, streaming and
#: the backends' own tests (and tests/test_device_scope.py where it exists).
SECOND_GPU_TESTS = ["tests/test_backends.py", "tests/test_network.py", "tests/test_training.py",
                    "tests/test_streaming.py"]
#: The tests of tests/test_distributed.py run with the ranks on GPUs (``BPNN_BACKEND=cupy``
#: for the jobs that name no backend).
MPI_TESTS = ("two_ranks_on_gpus or two_ranks_equal_one_process or "
             "each_rank_reads_its_rows_from_files")
#: The bench's sizes: full (a measurement) and quick (a check that everything runs).
BENCH_SIZES = {
    "full": {"repeats": 5,
             "mlp": {"n_samples": 60000, "batch_sizes": (128, 1024), "dtypes": ("float32",)},
             "large": {},  # the workload's own: 1,000,000 rows on a GPU
             "crossover": {"quick": True, "steps": 20}},
    "quick": {"repeats": 2,
              "mlp": {"n_samples": 2048, "batch_sizes": (128,), "dtypes": ("float32",)},
              "large": {"samples": 4096, "cpu_samples": 4096},
              "crossover": {"quick": True, "steps": 4}},
}


# -- the steps and their time limits ---------------------------------------------------------

@dataclasses.dataclass
class Step:
    """One step: a command run in its own process group under a time limit.

    ``limit`` is the step's cap in seconds; ``floor`` the time kept for it while the
    steps before it run; ``gpu`` whether it proves something only on a GPU.
    """

    name: str
    what: str
    command: list
    limit: float
    floor: float = 10.0
    gpu: bool = True
    env: dict = dataclasses.field(default_factory=dict)


def plan(out, stem, quick=False, full_suite=False):
    """The steps of a check, in the order they run."""
    me = [sys.executable, "-m", "bpnn.benchmarks.gpu_check", "--worker"]
    suite = ["--full-suite"] if full_suite else []
    return [
        Step("machine", "the machine: bpnn info, nvidia-smi, CPUs, library versions",
             [*me, "machine"], 30, 10, gpu=False),
        Step("stream-cupy", "a fit streamed from .npy files, and one preloaded in chunks, "
             "bit-compared with the fit from memory, on cupy",
             [*me, "stream", "--backend", "cupy"], 60, 20),
        Step("stream-torch-cuda", "the same comparison on torch:cuda",
             [*me, "stream", "--backend", "torch:cuda"], 60, 20),
        Step("suite-cupy", "the tests that take a backend, on cupy (pytest --backend cupy)",
             [*me, "suite", "--backend", "cupy", *suite], 400 if full_suite else 200, 30),
        Step("suite-torch-cuda", "the tests that take a backend, on torch:cuda",
             [*me, "suite", "--backend", "torch:cuda"], 150, 30),
        Step("cupy-1", "the second GPU: the streamed comparison and the core tests on cupy:1",
             [*me, "second-gpu"], 90, 15),
        Step("mpi-cupy", "a 2-rank MPI job on the GPUs against one process",
             [*me, "mpi"], 90, 30, env={"BPNN_BACKEND": "cupy"}),
        Step("bench", "the mlp, large and crossover workloads beside PyTorch CUDA eager",
             [*me, "bench", "--out", str(out), "--stem", stem, *(["--quick"] if quick else [])],
             150, 45),
    ]


STEP_NAMES = [step.name for step in plan(RESULTS, "x")]


def run_step(step, log_path, result_path, limit):
    """Run ``step`` for at most ``limit`` seconds; its outcome as a dict.

    Output goes to ``log_path``; a worker writes its verdict to ``result_path``.
    Past the limit the step's whole process group, and every process started from it,
    is killed.
    """
    start = time.monotonic()
    outcome = {"name": step.name, "what": step.what, "limit": round(limit, 1)}
    if limit < MIN_LIMIT:
        return {**outcome, "status": "fail", "seconds": 0.0,
                "reason": "not run: the time budget was spent by the steps before it"}
    with contextlib.suppress(FileNotFoundError):
        os.remove(result_path)
    env = {**os.environ, **step.env, RESULT_VARIABLE: str(result_path),
           LIMIT_VARIABLE: f"{limit:.0f}", "PYTHONUNBUFFERED": "1"}
    timed_out = False
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"$ {' '.join(map(str, step.command))}\n")
        log.flush()
        process = subprocess.Popen(step.command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=REPO, env=env,
                                   start_new_session=True)
        try:
            try:
                process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:  # a timeout or an interrupt: nothing of the step may live on
            if process.poll() is None or timed_out:
                _kill_tree(process)
            else:  # what it left behind in its group (a rank of an MPI job that hung)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
    outcome["seconds"] = round(time.monotonic() - start, 1)
    result = _read_json(result_path) or {}
    details = result.get("details", {})
    outcome["details"] = details
    if timed_out:
        where = f"; it was at: {result['progress']}" if result.get("progress") else ""
        return {**outcome, "status": "fail",
                "reason": f"timed out after {limit:.0f} s and was killed{where}"}
    code = process.returncode
    status = result.get("status")
    if code != 0 and status != "fail":
        return {**outcome, "status": "fail",
                "reason": f"exit code {code}: {_last_line(log_path)}"}
    if status == "running":
        return {**outcome, "status": "fail",
                "reason": f"it ended without a verdict; it was at: {result.get('progress')}"}
    return {**outcome, "status": status or "pass", "reason": result.get("reason", "")}


def _kill_tree(process):
    """SIGKILL the process, its process group and every process started from it."""
    family = _descendants(process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in [process.pid, *family]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def _descendants(pid):
    """Every process below ``pid``, from /proc (none where there is no /proc)."""
    children = {}
    for entry in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            # the name in parentheses may hold spaces: the parent pid follows the last ')'
            parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _last_line(path):
    lines = _tail(path, 1)
    return lines[-1] if lines else "(no output)"


def _tail(path, count):
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = [line.rstrip() for line in file if line.strip()]
    except OSError:
        return []
    return lines[-count:]


def check(steps, out, stem, budget=BUDGET, write=print):
    """Run ``steps`` in turn within ``budget`` seconds; write the summary to
    ``out/<stem>.json`` and ``.md`` (after every step, so a killed check leaves what
    it did) and print it.  Returns the exit code."""
    out = pathlib.Path(out)
    logs = out / f"{stem}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    deadline = start + budget
    record = {"command": " ".join(["python -m bpnn.benchmarks.gpu_check", *sys.argv[1:]]),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "budget_s": budget,
              "steps": []}
    outcomes = record["steps"]
    interrupted = False
    try:
        for index, step in enumerate(steps):
            reserve = sum(later.floor for later in steps[index + 1:])
            limit = min(step.limit, deadline - time.monotonic() - reserve)
            write(f"[{time.monotonic() - start:5.0f} s] {step.name}: {step.what} "
                  f"(limit {max(limit, 0):.0f} s)")
            log_path = logs / f"{step.name}.log"
            outcome = run_step(step, log_path, logs / f"{step.name}.result.json", limit)
            outcome["log"] = os.path.relpath(log_path, out)
            outcome["gpu"] = step.gpu
            if outcome["status"] == "fail":
                outcome["log_tail"] = _tail(log_path, 30)
            outcomes.append(outcome)
            if step.name == "machine" and "facts" in outcome["details"]:
                record["machine"] = outcome["details"]["facts"]
            write("  " + _line(outcome))
            _save(out, stem, record, start)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        record["seconds"] = round(time.monotonic() - start, 1)
        code, verdict = _verdict(outcomes, steps, interrupted)
        record["overall"] = verdict
        record["exit_code"] = code
        _save(out, stem, record, start)
        for line in _summary(record, out, stem):
            write(line)
    return code


def _line(outcome):
    status = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIP"}.get(outcome["status"], "????")
    reason = outcome.get("reason") or ""
    return f"{status:<5}{outcome['name']:<19}{outcome['seconds']:>6.1f} s  {reason}".rstrip()


def _verdict(outcomes, steps, interrupted):
    if interrupted:
        return 130, "FAIL (interrupted)"
    failed = [o["name"] for o in outcomes if o["status"] == "fail"]
    if failed:
        return 1, f"FAIL ({', '.join(failed)})"
    if len(outcomes) < len(steps):
        return 1, "FAIL (not every step ran)"
    if any(step.gpu for step in steps) and not any(
            o["gpu"] and o["status"] == "pass" for o in outcomes):
        return NO_GPU, "NOTHING PROVEN: no step could use a GPU here (see the skip reasons)"
    passed = sum(o["status"] == "pass" for o in outcomes)
    skipped = sum(o["status"] == "skipped" for o in outcomes)
    return 0, f"PASS ({passed} passed, {skipped} skipped)"


def _summary(record, out, stem):
    lines = ["", f"gpu_check summary ({record['seconds']:.0f} s of a {record['budget_s']:.0f} s "
                 f"budget):"]
    machine = next((o for o in record["steps"] if o["name"] == "machine"), None)
    if machine and machine.get("details", {}).get("summary"):
        lines.append(f"  machine: {machine['details']['summary']}")
    lines += ["  " + _line(outcome) for outcome in record["steps"]]
    lines.append(f"  results: {out / (stem + '.md')} and .json; logs in {out / (stem + '-logs')}")
    lines.append(f"OVERALL: {record['overall']}")
    return lines


def _save(out, stem, record, start):
    record = {**record, "seconds": round(time.monotonic() - start, 1)}
    _write_atomic(out / f"{stem}.json", json.dumps(record, indent=1, default=str) + "\n")
    _write_atomic(out / f"{stem}.md", _markdown(record, stem))


def _markdown(record, stem):
    lines = [f"# gpu_check {stem}", "",
             f"`{record['command']}`, started {record['started']}, "
             f"{record['seconds']:.0f} s of a {record['budget_s']:.0f} s budget.", "",
             f"**Overall: {record.get('overall', 'running')}**", "",
             "| step | result | seconds | limit | notes |", "| --- | --- | --- | --- | --- |"]
    for o in record["steps"]:
        note = (o.get("reason") or o.get("details", {}).get("summary") or "").replace("|", "/")
        lines.append(f"| `{o['name']}` | {o['status']} | {o['seconds']:.1f} | {o['limit']:.0f} "
                     f"| {note} |")
    for o in record["steps"]:
        details = o.get("details") or {}
        text = details.get("text")
        if text:
            lines += ["", f"## {o['name']}", "", "```", text.rstrip(), "```"]
        if o.get("log_tail"):
            lines += ["", f"## {o['name']}: the end of its log (`{o['log']}`)", "", "```",
                      *o["log_tail"], "```"]
    return "\n".join(lines) + "\n"


def _write_atomic(path, text):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def machine_tag():
    """The machine's short name for file names: ``h200``, ``2xh100``, else ``cpu-16core``."""
    names = []
    if shutil.which("nvidia-smi"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=10)
            if done.returncode == 0:
                names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if not names:
        return f"cpu-{os.cpu_count()}core"
    words = [w for w in re.split(r"[\s\-_]+", names[0])
             if w.lower() not in ("nvidia", "tesla", "geforce", "quadro")]
    short = []
    for word in words:
        short.append(word.lower())
        if any(c.isdigit() for c in word):
            break
    tag = re.sub(r"[^a-z0-9-]", "", "-".join(short)) or "gpu"
    return f"{len(names)}x{tag}" if len(names) > 1 else tag


def new_stem(out, tag):
    """``<date>-<tag>-gpu-check``, with ``-2``, ``-3``... when that run is already stored."""
    out = pathlib.Path(out)
    base = f"{time.strftime('%Y-%m-%d')}-{tag}-gpu-check"
    stem, number = base, 1
    while any(out.glob(f"{stem}.*")) or (out / f"{stem}-logs").exists():
        number += 1
        stem = f"{base}-{number}"
    return stem


# -- the workers: one per kind of step, each in its own process -------------------------------

class Report:
    """A worker's verdict and progress, written to the file the parent names."""

    def __init__(self, path=None):
        self.path = path or os.environ.get(RESULT_VARIABLE)
        self.details = {}

    def progress(self, text):
        self._write({"status": "running", "progress": text, "details": self.details})

    def finish(self, status, reason="", **details):
        self.details.update(details)
        self._write({"status": status, "reason": reason, "details": self.details})
        return {"pass": 0, "skipped": 0}.get(status, 1)

    def _write(self, record):
        if not self.path:
            return
        _write_atomic(pathlib.Path(self.path), json.dumps(record, indent=1, default=str))


def gpu_backend(spec):
    """``(backend, None)`` when ``spec`` runs on a CUDA device here, else ``(None, why)``."""
    from bpnn.backends import BACKENDS, BackendError, get_backend

    name, _, device = spec.partition(":")
    if name in BACKENDS:  # asked first: the error of get_backend probes every other library
        available, reason = BACKENDS[name].availability()
        if not available:
            return None, f"{name} is not available: {reason}"
    try:
        backend = get_backend(spec)
    except BackendError as error:
        return None, str(error).split("; available here")[0]
    if backend.free_memory() is None and os.environ.get(HOST_VARIABLE) != "1":
        return None, f"{spec} is not on a GPU here"
    if name == "cupy" and device:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        if int(device) >= count:
            return None, f"{spec} needs {int(device) + 1} CUDA devices; this machine has {count}"
    return backend, None


def work_machine(args, report):
    """The machine, described: bpnn info, nvidia-smi, CPUs and the libraries' versions."""
    import io
    import platform

    from bpnn.commands import info

    from . import machine

    facts = machine.describe()
    facts.pop("backends", None)
    facts["cpu_count"] = os.cpu_count()
    facts["platform"] = platform.platform()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        info.run(None)
    parts = ["$ bpnn info", buffer.getvalue().rstrip()]
    gpus = []
    if shutil.which("nvidia-smi"):
        for command in (["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,"
                         "pci.bus_id", "--format=csv,noheader"], ["nvidia-smi"]):
            text = _command_output(command)
            parts += [f"$ {' '.join(command)}", text]
            if command[1].startswith("--query") and not text.startswith("("):
                gpus = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        parts += ["(nvidia-smi not found)"]
    facts["gpus"] = gpus
    facts.update(_library_versions())
    mpiexec = _mpiexec()
    facts["mpiexec"] = mpiexec
    if mpiexec:
        parts += [f"$ {mpiexec} --version", "\n".join(_command_output([mpiexec, "--version"])
                                                      .splitlines()[:3])]
    parts += ["facts:", *(f"  {key}: {value}" for key, value in facts.items())]
    gpu_text = "; ".join(gpus) if gpus else "no NVIDIA GPU listed"
    summary = (f"{gpu_text}; {facts['cpu']}, {facts['cpu_count']} CPU threads; Python "
               f"{facts['python']}, NumPy {facts['numpy']}, CuPy {facts.get('cupy', '-')}, "
               f"PyTorch {facts.get('torch_version', '-')}")
    return report.finish("pass", summary, summary=summary, facts=facts, tag=machine_tag(),
                         text="\n".join(parts))


def _command_output(command, timeout=10):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as error:
        return f"({command[0]} failed: {error})"
    return (done.stdout + done.stderr).rstrip()


def _library_versions():
    facts = {}
    try:
        import cupy

        facts["cupy"] = cupy.__version__
        try:
            runtime = cupy.cuda.runtime
            facts["cuda_runtime"] = runtime.runtimeGetVersion()
            facts["cuda_driver"] = runtime.driverGetVersion()
            facts["cupy_devices"] = runtime.getDeviceCount()
        except Exception as error:  # any CUDA failure is a fact worth recording
            facts["cupy_cuda"] = f"{type(error).__name__}: {error}"
    except ImportError:
        facts["cupy"] = "not installed"
    try:
        import torch

        facts["torch_version"] = torch.__version__
        facts["torch_cuda"] = torch.version.cuda
        facts["torch_cuda_devices"] = torch.cuda.device_count() if torch.cuda.is_available() \
            else 0
    except ImportError:
        facts["torch_version"] = "not installed"
    for module in ("mpi4py", "array_api_strict", "array_api_compat"):
        try:
            facts[module] = __import__(module).__version__
        except ImportError:
            facts[module] = "not installed"
    return facts


FEATURES, OUTPUTS, HIDDEN = 8, 2, 32


def stream_matches_memory(backend, *, preload=False, rows=None, batch_size=None, epochs=3,
                          seed=0, file_seed=None, dtype="float32", workdir=None):
    """Fit one network from arrays in memory and one from the same data as ``.npy``
    files, with the same seed and shuffling on; whether the two end bit for bit equal.

    ``preload=False`` streams the files batch by batch (``memory_budget=0``);
    ``preload=True`` gives a small budget that the data still fits, so on a GPU the
    files are moved there once in several chunks (more rows than one chunk holds).
    ``file_seed`` seeds the file's fit differently: a check that the comparison can fail.

    Returns a dict: ``identical`` (weights and loss curves equal bit for bit), the
    largest weight difference, how the file was read (``mode``), rows, batches, epochs.

    Raises
    ------
    RuntimeError
        When the file was not read the way asked (preloaded when streaming was
        asked, or streamed on a GPU when preloading was).
    """
    import inspect

    import numpy as np

    from bpnn.backends import get_backend
    from bpnn.data.epochs import StreamEpochs

    backend = get_backend(backend)
    chunk = inspect.signature(StreamEpochs.preloaded).parameters["chunk"].default
    rows = (2 * chunk + chunk // 2 if preload else 5000) if rows is None else rows
    batch_size = (rows // 20 if preload else 200) if batch_size is None else batch_size
    rng = np.random.default_rng(1234)
    X = rng.standard_normal((rows, FEATURES)).astype(dtype)
    T = np.tanh(X[:, :OUTPUTS] * X[:, OUTPUTS:2 * OUTPUTS]).astype(dtype)
    itemsize = np.dtype(dtype).itemsize
    budget = 2 * rows * (FEATURES + OUTPUTS) * itemsize if preload else 0
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        x_path, t_path = os.path.join(folder, "X.npy"), os.path.join(folder, "T.npy")
        np.save(x_path, X)
        np.save(t_path, T)
        memory = _fit(backend, X, T, seed, batch_size, epochs, None, dtype)
        with _watching_preloads() as preloads:
            files = _fit(backend, x_path, t_path, seed if file_seed is None else file_seed,
                         batch_size, epochs, budget, dtype)
    on_gpu = backend.free_memory() is not None
    if preloads and not preload:
        raise RuntimeError(f"the files were preloaded with memory_budget=0 ({preloads})")
    if preload and on_gpu and not preloads:
        raise RuntimeError(f"the files were streamed, not preloaded, with memory_budget={budget}")
    if preloads:
        n, used_chunk = preloads[0]
        mode = (f"preloaded onto the device in {math.ceil(n / used_chunk)} chunks of "
                f"{used_chunk} rows")
    elif preload:
        mode = "streamed batch by batch (a host backend never preloads)"
    else:
        mode = "streamed batch by batch"
    same_weights = all(a.shape == b.shape and np.array_equal(a, b)
                       for a, b in zip(memory["weights"], files["weights"]))
    difference = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                     for a, b in zip(memory["weights"], files["weights"]))
    return {"backend": backend.spec, "mode": mode, "rows": rows, "batch_size": batch_size,
            "batches": math.ceil(rows / batch_size), "epochs": epochs, "dtype": dtype,
            "identical": same_weights and memory["loss"] == files["loss"],
            "weights_identical": same_weights, "losses_identical": memory["loss"] == files["loss"],
            "max_abs_difference": difference, "final_loss": memory["loss"][-1]}


def _fit(backend, X, T, seed, batch_size, epochs, memory_budget, dtype):
    import bpnn

    net = bpnn.mlp([FEATURES, HIDDEN, HIDDEN, OUTPUTS], activation="relu", backend=backend,
                   dtype=dtype, seed=seed)
    history = net.fit(X, T, epochs=epochs, batch_size=batch_size, optimizer="adam",
                      shuffle=True, memory_budget=memory_budget)
    return {"weights": net.get_weights(), "loss": [float(v) for v in history["loss"]]}


@contextlib.contextmanager
def _watching_preloads():
    """Records ``(rows, chunk)`` of every preload while the block runs: ``fit`` does not
    say whether it preloaded or streamed, and the check must know."""
    import functools
    import inspect

    from bpnn.data.epochs import StreamEpochs

    original = StreamEpochs.preloaded
    default = inspect.signature(original).parameters["chunk"].default
    calls = []

    @functools.wraps(original)
    def preloaded(self, chunk=default):
        calls.append((self.n_samples, chunk))
        return original(self, chunk)

    StreamEpochs.preloaded = preloaded
    try:
        yield calls
    finally:
        StreamEpochs.preloaded = original


def work_stream(args, report):
    """Both variants of :func:`stream_matches_memory` on a GPU backend."""
    backend, why = gpu_backend(args.backend)
    if backend is None:
        return report.finish("skipped", why)
    status, reason, details = stream_variants(backend.spec, report)
    return report.finish(status, reason, **details)


def stream_variants(spec, report=None):
    """Streamed and preloaded fits of ``spec`` against memory: ``(status, reason, details)``."""
    results, failed = [], []
    for preload in (False, True):
        if report is not None:
            report.progress(f"{'preloaded' if preload else 'streamed'} fit on {spec}")
        result = stream_matches_memory(spec, preload=preload)
        print(json.dumps(result), flush=True)
        results.append(result)
        if not result["identical"]:
            failed.append(f"{result['mode']}: max |difference| {result['max_abs_difference']:.3g}"
                          f" (weights equal: {result['weights_identical']}, losses equal: "
                          f"{result['losses_identical']})")
    summary = "; ".join(f"{r['mode']}, {r['batches']} batches x {r['epochs']} epochs: "
                        f"{'bit-identical' if r['identical'] else 'DIFFERENT'}" for r in results)
    if failed:
        return "fail", "the fit from the files differs from the fit from memory: " + \
            "; ".join(failed), {"variants": results}
    return "pass", summary, {"summary": summary, "variants": results}


class SuitePlugin:
    """Counts the outcomes, keeps the worker's progress current, and (``backend_only``)
    deselects the tests that take no backend."""

    def __init__(self, report, backend_only):
        self.report, self.backend_only = report, backend_only
        self.counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "deselected": 0}
        self.failures = []
        self.total = 0
        self.last = 0.0

    def pytest_collection_modifyitems(self, session, config, items):
        if self.backend_only:
            keep, dropped = [], []
            for item in items:
                takes = "backend_name" in getattr(item, "fixturenames", ())
                (keep if takes else dropped).append(item)
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = keep
        self.total = len(items)

    def pytest_deselected(self, items):
        self.counts["deselected"] += len(items)

    def pytest_runtest_logstart(self, nodeid, location):
        now = time.monotonic()
        if now - self.last > 1.0:  # at most once a second
            self.last = now
            done = self.counts["passed"] + self.counts["skipped"]
            self.report.progress(f"{nodeid} ({done} of {self.total} done)")

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.counts["failed" if report.when == "call" else "errors"] += 1
            self.failures.append(report.nodeid)
        elif report.skipped:
            self.counts["skipped"] += 1
        elif report.when == "call":
            self.counts["passed"] += 1


def run_suite(spec, report, tests=(), backend_only=True):
    """pytest on ``spec`` in this process: ``(status, reason, details)``."""
    import pytest

    on_gpu = os.environ.get(HOST_VARIABLE) != "1"
    if on_gpu:  # tests/conftest.py: the real CuPy, never the suite's CPU stand-in for it
        os.environ["BPNN_TEST_CUPY"] = "real"
    plugin = SuitePlugin(report, backend_only)
    start = time.monotonic()
    code = int(pytest.main([*tests, *PYTEST_OPTIONS, "--backend", spec], plugins=[plugin]))
    cupy = sys.modules.get("cupy")
    if on_gpu and "stand-in" in str(getattr(cupy, "__version__", "")):
        return "fail", "the suite ran CuPy's CPU stand-in, not the GPU", {}
    counts = plugin.counts
    summary = (f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} "
               f"errors, {counts['skipped']} skipped, {counts['deselected']} deselected "
               f"in {time.monotonic() - start:.0f} s")
    details = {"summary": summary, "counts": counts, "failures": plugin.failures,
               "pytest_exit_code": code}
    if code != 0 or counts["failed"] or counts["errors"]:
        first = f"; first: {plugin.failures[0]}" if plugin.failures else ""
        return "fail", f"pytest exit code {code}: {summary}{first}", details
    if counts["passed"] == 0:
        return "fail", f"no test passed: {summary}", details
    return "pass", summary, details


def work_suite(args, report):
    """The tests that take a backend (all of them with ``--full-suite``) on a GPU backend."""
    if not (REPO / "tests" / "conftest.py").exists():
        return report.finish("skipped", f"no tests beside the package ({REPO / 'tests'}): run "
                                        "from a source checkout")
    backend, why = gpu_backend(args.backend)
    if backend is None:
        return report.finish("skipped", why)
    status, reason, details = run_suite(args.backend, report, tests=args.tests or (),
                                        backend_only=not args.full_suite)
    return report.finish(status, reason, **details)


def work_second_gpu(args, report):
    """The streamed comparison and the core tests on ``cupy:1``, where there is a GPU 1."""
    backend, why = gpu_backend("cupy:1")
    if backend is None:
        return report.finish("skipped", why)
    status, reason, details = stream_variants("cupy:1", report)
    if status != "pass":
        return report.finish(status, reason, **details)
    streamed = reason
    # the tests of a model on a second GPU (the other engineers' device-scope tests) where
    # they are, and the core tests that take a backend, on cupy:1
    tests = [path for path in (*SECOND_GPU_TESTS, "tests/test_device_scope.py")
             if (REPO / path).exists()]
    status, reason, details = run_suite("cupy:1", report, tests=tests, backend_only=False)
    return report.finish(status, f"{streamed}; {reason}", **details)


def _mpiexec():
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def work_mpi(args, report):
    """Where two ranks train (each on a GPU), then the distributed tests on the GPUs."""
    import importlib.util

    mpiexec = _mpiexec()
    if mpiexec is None or importlib.util.find_spec("mpi4py") is None:
        return report.finish("skipped", 'MPI is not installed (pip install "bpnn[distributed]")')
    backend, why = gpu_backend(os.environ.get("BPNN_BACKEND") or "cupy")
    if backend is None:
        return report.finish("skipped", why)
    report.progress("2-rank placement probe")
    with tempfile.TemporaryDirectory() as folder:
        command = [mpiexec, "-n", "2", sys.executable, "-m", "bpnn.benchmarks.gpu_check",
                   "--mpi-probe", folder]
        print("$ " + " ".join(command), flush=True)
        done = subprocess.run(command, timeout=120, cwd=REPO)
        ranks = [_read_json(os.path.join(folder, f"rank{rank}.json")) for rank in range(2)]
    print(json.dumps(ranks), flush=True)
    if done.returncode != 0 or None in ranks:
        return report.finish("fail", f"the 2-rank probe failed (exit code {done.returncode})",
                             ranks=ranks)
    wrong = [r for r in ranks if r["spec"].split(":")[0] != backend.name]
    if wrong:
        return report.finish("fail", f"a rank did not train on {backend.name}: {wrong}",
                             ranks=ranks)
    placement = ", ".join(f"rank {r['rank']} on {r['spec']}" for r in ranks)
    status, reason, details = run_suite(backend.name, report,
                                        tests=["tests/test_distributed.py", "-k", MPI_TESTS],
                                        backend_only=False)
    return report.finish(status, f"{placement}; {reason}", ranks=ranks, **details)


def mpi_probe(folder):
    """On each rank of an MPI job: a tiny distributed fit; where the rank trained."""
    import numpy as np

    import bpnn
    from bpnn.distributed import Distributed

    dist = Distributed.world()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    net = bpnn.mlp([3, 4, 1], seed=0)
    net.fit(X, X[:, :1] * X[:, 1:2], epochs=2, batch_size=8, distributed=True)
    record = {"rank": dist.rank, "size": dist.size, "local_rank": dist.local_rank,
              "spec": net.backend.spec, "device": net.backend.describe()}
    _write_atomic(pathlib.Path(folder) / f"rank{dist.rank}.json", json.dumps(record))


def work_bench(args, report):
    """The GPU workloads on the GPU backends here, beside PyTorch CUDA where it runs."""
    specs, reasons = [], []
    for spec in ("cupy", "torch:cuda"):
        backend, why = gpu_backend(spec)
        if backend is None:
            reasons.append(why)
        else:
            specs.append(spec)
    if not specs:
        return report.finish("skipped", "; ".join(reasons))
    peers = ["torch-cuda"] if "torch:cuda" in specs else []
    notes = [] if peers else [f"peer torch-cuda skipped: {reasons[-1]}"]
    limit = float(os.environ.get(LIMIT_VARIABLE, "inf"))
    sizes = "quick" if args.quick or limit < FULL_BENCH_SECONDS else "full"
    if sizes == "quick" and not args.quick:
        notes.append(f"quick sizes, not a measurement: only {limit:.0f} s were left")
    paths = run_bench(args.out, args.stem, specs, peers, sizes, report=report, notes=notes)
    summary = (f"mlp, large, crossover ({sizes} sizes) on {', '.join(specs)}"
               f"{' beside torch-cuda' if peers else ' (no torch-cuda peer)'}: "
               f"{os.path.basename(paths[1])}")
    return report.finish("pass", summary, summary=summary, files=[str(p) for p in paths])


def run_bench(out, stem, backends, peers, sizes="full", report=None, notes=()):
    """The ``mlp``, ``large`` and ``crossover`` workloads on ``backends`` beside ``peers``
    (crossover with NumPy too, to find where the GPU wins), stored through the runner as
    ``<stem>-bench.json`` and ``.txt``, rewritten after every workload.  ``sizes``: a
    name in :data:`BENCH_SIZES` or such a dict.  The two paths."""
    from . import crossover, large, machine, mlp, runner

    size = BENCH_SIZES[sizes] if isinstance(sizes, str) else sizes
    sizes = sizes if isinstance(sizes, str) else "custom"
    repeats = size["repeats"]
    facts = machine.describe(backends)
    header = ["machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()
                                      if key != "backends")]
    header += [f"  {name}: {description}" for name, description in facts["backends"].items()]
    header += [f"({note})" for note in notes]
    header.append(f"bpnn.benchmarks.gpu_check bench ({sizes} sizes): backends "
                  f"{','.join(backends)}, peers {','.join(peers) or '-'}, {repeats} repeats")
    pathlib.Path(out).mkdir(parents=True, exist_ok=True)
    json_path = pathlib.Path(out) / f"{stem}-bench.json"
    text_path = pathlib.Path(out) / f"{stem}-bench.txt"
    cpu_and_gpus = list(dict.fromkeys(["numpy", *backends]))
    workloads = [
        ("mlp", lambda: mlp.run(backends, peers, repeats, **size["mlp"])),
        ("large", lambda: large.run(backends, repeats, peers=peers, **size["large"])),
        ("crossover", lambda: crossover.run(cpu_and_gpus, repeats, **size["crossover"])),
    ]
    rows = []
    for name, run in workloads:
        if report is not None:
            report.progress(f"bench workload {name}")
        print(f"running {name} ...", flush=True)
        rows += run()
        text = "\n".join(header) + "\n" + runner.table(rows) + "\n"
        if name == "crossover":
            swept = [row for row in rows if row["workload"] == "crossover"]
            for gpu in [spec for spec in backends if spec != "numpy"]:
                points = crossover.crossover_points(swept, "numpy", gpu)
                text += (f"\nsmallest batch at which {gpu} beats numpy, by width: "
                         + ", ".join(f"{w}: {b}" for w, b in points.items()) + "\n")
        runner.write_json(json_path, facts, rows)
        _write_atomic(text_path, text)
    print(text, flush=True)
    return json_path, text_path


WORKERS = {"machine": work_machine, "stream": work_stream, "suite": work_suite,
           "second-gpu": work_second_gpu, "mpi": work_mpi, "bench": work_bench}


# -- the command ------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bpnn.benchmarks.gpu_check",
        description="Check bpnn on a CUDA GPU machine in one call (under 8 minutes): the "
                    "test suite on cupy and torch:cuda, streamed fits bit-compared with fits "
                    "from memory, the second GPU, a 2-rank MPI job, the GPU benchmarks beside "
                    "PyTorch CUDA, and the machine described.  Prints PASS/FAIL/SKIP per "
                    "step and the verdict; exit code 0 all passed, 1 a step failed, 3 no "
                    "step could use a GPU.")
    parser.add_argument("--out", default=str(RESULTS),
                        help="folder for the summary, the bench results and the logs "
                             "(default benchmarks/results)")
    parser.add_argument("--budget", type=float, default=BUDGET,
                        help=f"seconds for the whole check (default {BUDGET:.0f})")
    parser.add_argument("--steps", default=",".join(STEP_NAMES),
                        help=f"comma-separated steps to run (default all: "
                             f"{','.join(STEP_NAMES)})")
    parser.add_argument("--quick", action="store_true",
                        help="tiny benchmark sizes (a check that they run, not a measurement)")
    parser.add_argument("--full-suite", action="store_true",
                        help="suite-cupy also runs the tests that take no backend (longer)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--stem", help=argparse.SUPPRESS)
    parser.add_argument("--tests", nargs="+", help=argparse.SUPPRESS)  # the suite's files
    parser.add_argument("--mpi-probe", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mpi_probe:
        mpi_probe(args.mpi_probe)
        return 0
    if args.worker:
        os.environ.setdefault("SCIPY_ARRAY_API", "1")  # as tests/conftest.py, before SciPy
        report = Report()
        try:
            return WORKERS[args.worker](args, report)
        except Exception as error:
            traceback.print_exc()
            return report.finish("fail", f"{type(error).__name__}: {error}")
    names = [name.strip() for name in args.steps.split(",") if name.strip()]
    unknown = [name for name in names if name not in STEP_NAMES]
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEP_NAMES)}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = new_stem(out, machine_tag())
    steps = [step for step in plan(out, stem, args.quick, args.full_suite) if step.name in names]
    print(f"bpnn gpu_check: {len(steps)} steps within {args.budget:.0f} s; results in "
          f"{out}/{stem}.*", flush=True)
    return check(steps, out, stem, args.budget,
                 write=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
