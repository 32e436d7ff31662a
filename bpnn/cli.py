"""The ``bpnn`` command: ``demo``, ``train``, ``predict``, ``evaluate`` and ``info``.

Exit codes: 0 done; 2 a problem the user can act on (a missing file, an
unknown column, non-numeric data, NaN, a file that is not a model, an
unknown backend), said on stderr as ``bpnn: error: ...``; 130 interrupted;
141 the reader of the output went away.
"""

from __future__ import annotations

import argparse
import os
import sys

from ._version import __version__
from .backends import BackendError
from .commands import COMMANDS


def _parser():
    parser = argparse.ArgumentParser(
        prog="bpnn", description="Backpropagation neural networks on NumPy, CuPy, PyTorch and "
                                 "array-api-strict.")
    parser.add_argument("--version", action="version", version=f"bpnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``bpnn`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (BackendError, ValueError, ImportError) as error:
        print(f"bpnn: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder that does not exist, a disk that is full...
        print(f"bpnn: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bpnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) has gone: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
