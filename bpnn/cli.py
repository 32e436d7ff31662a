"""The ``bpnn`` command: ``bpnn demo NAME`` and ``bpnn info``."""

from __future__ import annotations

import argparse
import inspect
import os
import sys

from . import __version__
from .backends import BackendError, availability_report, get_backend
from .demos import DEFAULT_SEED, DEMOS
from .plot import check_path

_DEMO_HEADERS = {
    "sin-regression": "1-3-1 network learning y = sin(x): sigmoid hidden layer, identity output, "
                      "squared error, online SGD (batch size 1), lr {lr}, 0.01*randn init",
    "sin-classification": "2-6-2 network classifying points above/below a sine wave: sigmoid "
                          "hidden layer, softmax output, cross-entropy, online SGD, lr {lr}, "
                          "0.01*randn init",
    "vanishing-gradient": "10 sigmoid hidden layers against 10 ReLU hidden layers on the "
                          "sine-boundary task: the error reaching each layer, and which learns",
}


def _parser():
    parser = argparse.ArgumentParser(
        prog="bpnn", description="Backpropagation neural networks on NumPy, CuPy, PyTorch and "
                                 "array-api-strict.")
    parser.add_argument("--version", action="version", version=f"bpnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run one of the seed examples",
                               description="Train one of the seed tutorial's examples and print "
                                           "its learning curve.")
    demo.add_argument("name", choices=sorted(DEMOS), help="which demo")
    demo.add_argument("--backend", default=None,
                      help="numpy, cupy, torch, array_api_strict or auto "
                           "(default: $BPNN_BACKEND, else auto)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 0)")
    demo.add_argument("--epochs", type=int, default=None,
                      help="number of epochs (default: the demo's own)")
    demo.add_argument("--lr", type=float, default=None,
                      help="learning rate (default: the demo's own, 0.1 for the seed examples)")
    demo.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    demo.add_argument("--plot", metavar="FILE", default=None,
                      help="save the demo's picture there (.png, .svg, .pdf; needs matplotlib)")

    commands.add_parser("info", help="list the backends and whether they run here")
    return parser


def _run_demo(args):
    demo = DEMOS[args.name]
    if args.plot is not None:
        check_path(args.plot)  # before training: a bad path must not cost the run
    options = {"backend": args.backend, "seed": args.seed, "dtype": args.dtype}
    for option in ("epochs", "lr"):
        if getattr(args, option) is not None:
            options[option] = getattr(args, option)
    lr = options.get("lr", inspect.signature(demo).parameters["lr"].default)
    backend = get_backend(args.backend)
    print(f"bpnn demo {args.name}: " + _DEMO_HEADERS[args.name].format(lr=lr))
    print(f"backend: {backend.name}, {backend.describe()}; dtype {args.dtype}; seed {args.seed}")
    result = demo(**options)
    if "error" in result.figures:
        summary = f"final mean error {result['error']:.6g}"
        if "accuracy" in result.figures:
            summary += f", training accuracy {result['accuracy']:.4f}"
        print(f"{summary}; trained in {result.seconds:.2f} s")
    else:
        print(f"trained in {result.seconds:.2f} s")
    if args.plot is not None:
        result.plot(args.plot)
        print(f"picture saved to {args.plot}")
    return 0


def _run_info(args):
    print(f"bpnn {__version__}")
    for name, (available, reason) in availability_report().items():
        if available:
            print(f"  {name:<17} yes  {get_backend(name).describe()}")
        else:
            print(f"  {name:<17} no   {reason}")
    print(f"default (auto): {get_backend('auto').name}")
    return 0


def main(argv=None):
    """Entry point of the ``bpnn`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _run_demo(args)
        return _run_info(args)
    except (BackendError, ValueError, ImportError) as error:
        print(f"bpnn: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bpnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) has gone: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
