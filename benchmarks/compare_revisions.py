"""Is a change slower?  Time two git revisions of bpnn against each other, in pairs.

Each revision is exported (``git archive``) and installed into a folder of its
own (``pip install --no-deps --target``), then measured in fresh processes that
see only that folder and this environment's dependencies.  The processes run in
pairs, one of each revision, the order alternating from pair to pair (the second
process of a pair tends to run a little slower on a shared machine); each
process reports its best of 5 timed fits (CPU time for seed-sin, wall time for
mlp, whose products BLAS runs on every core).  The figure to compare is the
median over the pairs of ``head / base``: its spread is the machine's noise,
which ``--base X --head X`` (the same revision twice) shows.

The workloads are the two of the speed claims: ``seed-sin``, the seed's 1-3-1
sigmoid network by online SGD (batch 1: what a step costs in Python), in
microseconds per step; ``mlp``, 784-256-256-10 relu/softmax by SGD in float32
at batch 128 on 8,192 rows (what the arithmetic costs), in microseconds per step.

``--instructions`` adds a measure without noise where valgrind is installed: the
machine instructions of a seed-sin step, counted by callgrind as the difference
between a fit of 220 epochs and one of 20, so that start-up cancels.

Usage, from a clone (``WORK`` is the working tree, uncommitted changes included)::

    python benchmarks/compare_revisions.py --base main --head WORK
    python benchmarks/compare_revisions.py --base v0.1 --head HEAD --pairs 30 --workloads seed-sin
    python benchmarks/compare_revisions.py --base HEAD --head WORK --instructions
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: One process's measurement (arguments: epochs per fit, fits): prints the best
#: microseconds per step of the fits.
MEASURE = {
    "seed-sin": """
import sys, time, bpnn
from bpnn.datasets import sin_regression
X, T = sin_regression()
epochs, fits = int(sys.argv[1]), int(sys.argv[2])
net = bpnn.mlp([1, 3, 1], activation="sigmoid", backend="numpy", dtype="float64", seed=0)
net.fit(X, T, epochs=5, batch_size=1, optimizer=bpnn.SGD(lr=0.1), verbose=0)
best = float("inf")
for _ in range(fits):
    start = time.process_time()
    net.fit(X, T, epochs=epochs, batch_size=1, optimizer=bpnn.SGD(lr=0.1), verbose=0)
    best = min(best, (time.process_time() - start) / (epochs * len(X)))
print(best * 1e6)
""",
    "mlp": """
import sys, time, numpy as np, bpnn
epochs, fits = int(sys.argv[1]), int(sys.argv[2])
# the data made here, not by the revision's bpnn.benchmarks.mlp: both revisions see the same
rng = np.random.default_rng(0)
X = rng.standard_normal((8192, 784), dtype=np.float32)
T = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8192)]
net = bpnn.mlp([784, 256, 256, 10], activation="relu", loss="cross_entropy", backend="numpy",
               dtype="float32", seed=0)
net.fit(X, T, epochs=1, batch_size=128, optimizer=bpnn.SGD(lr=0.01), verbose=0)
best = float("inf")
for _ in range(fits):
    start = time.perf_counter()
    net.fit(X, T, epochs=epochs, batch_size=128, optimizer=bpnn.SGD(lr=0.01), verbose=0)
    best = min(best, (time.perf_counter() - start) / (epochs * (len(X) // 128)))
print(best * 1e6)
""",
}


def install(revision, folder):
    """``revision`` (or ``WORK``: the working tree) installed into ``folder``/inst."""
    source = folder / "src"
    source.mkdir(parents=True)
    if revision == "WORK":  # tracked and untracked files git does not ignore
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                               check=True, capture_output=True).stdout.split(b"\0")
        for name in filter(None, files):
            path = ROOT / os.fsdecode(name)
            if path.is_file():
                (source / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, source / path.relative_to(ROOT))
    else:
        archive = folder / "src.tar"
        subprocess.run(["git", "archive", "-o", str(archive), revision], cwd=ROOT, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(source, filter="data")
    target = folder / "inst"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)], check=True)
    return target


def environment(target):
    """The environment of a measuring process: ``target`` first, then this Python's
    dependencies (the process runs with ``-S``: an editable install of the working
    tree, which site would add, must not stand in for the revision)."""
    paths = [str(target), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))


#: ``{workload: (epochs per fit, fits)}`` of a timed process: about a second each
TIMED = {"seed-sin": (100, 5), "mlp": (1, 5)}


def measure(target, workload):
    """One fresh process's best microseconds per step."""
    epochs, fits = TIMED[workload]
    result = subprocess.run([sys.executable, "-S", "-c", MEASURE[workload], str(epochs),
                             str(fits)],
                            env=environment(target), cwd=tempfile.gettempdir(),
                            check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def instructions(target):
    """Machine instructions of one seed-sin step (callgrind), start-up cancelled."""
    def count(epochs):
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             "-S", "-c", MEASURE["seed-sin"], str(epochs), "1"],
            env=dict(environment(target), PYTHONHASHSEED="0"), cwd=tempfile.gettempdir(),
            check=True, capture_output=True, text=True)
        return int(re.search(r"Collected : (\d+)", result.stderr).group(1))
    return (count(220) - count(20)) / (200 * 63)  # the seed's 63 samples: 63 steps an epoch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="git revision, or WORK")
    parser.add_argument("--head", default="WORK", help="git revision, or WORK (default)")
    parser.add_argument("--pairs", type=int, default=20, help="process pairs (default 20)")
    parser.add_argument("--workloads", default="seed-sin,mlp",
                        help="comma-separated: seed-sin, mlp (default both)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count a seed-sin step's instructions (needs valgrind)")
    args = parser.parse_args(argv)
    workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = sorted(set(workloads) - set(MEASURE))
    if unknown or not workloads or args.pairs < 1:
        parser.error(f"unknown workloads {unknown}" if unknown else "nothing to measure")
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on PATH")
    if not (ROOT / ".git").exists():
        parser.error(f"run it from a clone of bpnn: {ROOT} is not one")
    for option, revision in (("--base", args.base), ("--head", args.head)):
        if revision != "WORK" and not _is_commit(revision):
            parser.error(f"{option} {revision!r} is no commit of this clone")
    if importlib.util.find_spec("setuptools") is None:  # bpnn's build backend
        parser.error("the revisions are built without build isolation (nothing is "
                     "downloaded), so this environment needs setuptools: pip install setuptools")
    with tempfile.TemporaryDirectory() as scratch:
        base = install(args.base, Path(scratch) / "base")
        head = install(args.head, Path(scratch) / "head")
        for workload in workloads:
            rows = []
            for index in range(args.pairs):
                first, second = (base, head) if index % 2 == 0 else (head, base)
                times = {first: measure(first, workload), second: measure(second, workload)}
                rows.append((times[base], times[head]))
                print(f"  {workload} pair {index + 1}: base {times[base]:.1f}, "
                      f"head {times[head]:.1f} us/step", flush=True)
            ratios = [h / b for b, h in rows]
            print(f"{workload}: head/base median {statistics.median(ratios):.3f} over "
                  f"{len(rows)} pairs (quartiles {_quartiles(ratios)}); us/step median "
                  f"base {statistics.median(b for b, _ in rows):.1f}, head "
                  f"{statistics.median(h for _, h in rows):.1f}; best base "
                  f"{min(b for b, _ in rows):.1f}, head {min(h for _, h in rows):.1f}")
        if args.instructions:
            counts = instructions(base), instructions(head)
            print(f"seed-sin instructions per step: base {counts[0]:,.0f}, head "
                  f"{counts[1]:,.0f}, head/base {counts[1] / counts[0]:.3f}")


def _is_commit(revision):
    """Whether ``revision`` names a commit of the clone."""
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                          cwd=ROOT, capture_output=True, check=False).returncode == 0


def _quartiles(values):
    if len(values) < 2:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.3f}-{high:.3f}"


if __name__ == "__main__":
    main()
