"""``bpnn bench``: measure the backends and the peers on the same workloads."""

from __future__ import annotations

from ..errors import InputError


def add_parser(commands):
    bench = commands.add_parser(
        "bench", help="compare backends and peers on standard workloads",
        description="Time the workloads (seed-sin, mlp, crossover, large, estimators) on the "
                    "chosen "
                    "backends and peers: at least 5 repeats, the devices synchronized before "
                    "every clock read; prints the machine and a table of medians and bests.")
    bench.add_argument("--backends", default="numpy",
                       help="comma-separated backends (default numpy), e.g. numpy,cupy,torch")
    bench.add_argument("--peers", default="numpy-hand,torch",
                       help="comma-separated peers: numpy-hand, torch, torch-cuda (PyTorch "
                            "eager on the GPU), sklearn, jax (a hand-written jax.jit step; mlp "
                            "only) (default numpy-hand,torch; those not installed are "
                            "skipped)")
    bench.add_argument("--workloads", default="seed-sin,mlp",
                       help="comma-separated: seed-sin, mlp, crossover, large, estimators "
                            "(MLPClassifier against scikit-learn's on digits), panel (the "
                            "test scores of bpnn train with its defaults against "
                            "scikit-learn's MLP pipeline on public and synthetic tables, "
                            "on the first backend; a few minutes) (default seed-sin,mlp)")
    bench.add_argument("--repeats", type=int, default=5, help="timed repeats (at least 5)")
    bench.add_argument("--full", action="store_true",
                       help="the published sizes: seed-sin's 2001 epochs, mlp on 60,000 "
                            "samples in float32 and float64 (the default, 201 epochs and "
                            "20,000 float32 samples, takes a few minutes)")
    bench.add_argument("--quick", action="store_true",
                       help="tiny sizes: checks that everything runs (not a measurement)")
    bench.add_argument("--json", metavar="FILE", default=None, help="also write the results")
    bench.add_argument("--plot", metavar="FILE", default=None,
                       help="bar charts and crossover heat maps (needs matplotlib)")
    bench.set_defaults(run=run)


def _names(text, known, what):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputError(f"unknown {what} {unknown}; choose from {', '.join(known)}")
    return names


def run(args):
    from ..backends import get_backend
    from ..benchmarks import machine, runner
    from ..plot import check_path
    from ..validation import writable_path

    if args.repeats < 5 and not args.quick:
        raise InputError(f"--repeats must be at least 5 (medians of fewer are noise), got "
                         f"{args.repeats}")
    # the outputs are checked before minutes of measuring, not after
    if args.json is not None:
        writable_path(args.json, "the results", inputs=[args.plot])
    if args.plot is not None:
        check_path(args.plot, inputs=[args.json])
    workloads = _names(args.workloads, runner.WORKLOADS, "workloads")
    peers = _names(args.peers, runner.PEERS, "peers")
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    for name in backends:
        get_backend(name)  # an unknown or unavailable backend fails now, not mid-run
    peers = [peer for peer in peers if _installed(peer)]
    facts = machine.describe(backends)
    print("machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()
                                  if key != "backends"))
    for name, description in facts["backends"].items():
        print(f"  {name}: {description}")
    rows = runner.run(workloads, backends, peers, repeats=max(args.repeats, 1),
                      quick=args.quick, full=args.full)
    print(runner.table(rows))
    if args.json:
        runner.write_json(args.json, facts, rows)
        print(f"results written to {args.json}")
    if args.plot:
        runner.plot(args.plot, rows)
        print(f"plot saved to {args.plot}")
    return 0


def _installed(peer):
    """Whether ``peer`` can run here; says why not when it cannot."""
    module = {"torch": "torch", "torch-cuda": "torch", "sklearn": "sklearn",
              "jax": "jax"}.get(peer)
    if module is None:
        return True
    import importlib.util

    if importlib.util.find_spec(module) is None:
        print(f"(peer {peer} skipped: {module} is not installed)")
        return False
    if peer == "torch-cuda":
        from ..backends import BackendError, get_backend

        try:
            get_backend("torch:cuda")
        except BackendError as error:
            print(f"(peer torch-cuda skipped: {error})")
            return False
    return True
