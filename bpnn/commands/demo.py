"""``bpnn demo NAME``: the seed examples and the vanishing-gradient demo."""

from __future__ import annotations

import inspect

from ..backends import get_backend
from ..demos import DEFAULT_SEED, DEMOS

_HEADERS = {
    "sin-regression": "1-3-1 network learning y = sin(x): sigmoid hidden layer, identity output, "
                      "squared error, online SGD (batch size 1), lr {lr}, 0.01*randn init",
    "sin-classification": "2-6-2 network classifying points above/below a sine wave: sigmoid "
                          "hidden layer, softmax output, cross-entropy, online SGD, lr {lr}, "
                          "0.01*randn init",
    "vanishing-gradient": "10 sigmoid hidden layers against 10 ReLU hidden layers on the "
                          "sine-boundary task: the error reaching each layer, and which learns",
}


def add_parser(commands):
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
    demo.set_defaults(run=run)


def run(args):
    from ..plot import check_path

    demo = DEMOS[args.name]
    if args.plot is not None:
        check_path(args.plot)  # before training: a bad path must not cost the run
    options = {"backend": args.backend, "seed": args.seed, "dtype": args.dtype}
    for option in ("epochs", "lr"):
        if getattr(args, option) is not None:
            options[option] = getattr(args, option)
    lr = options.get("lr", inspect.signature(demo).parameters["lr"].default)
    backend = get_backend(args.backend)
    print(f"bpnn demo {args.name}: " + _HEADERS[args.name].format(lr=lr))
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
