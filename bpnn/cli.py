"""The ``bpnn`` command: ``demo``, ``train``, ``predict``, ``evaluate``, ``export``, ``bench``
and ``info``.

Exit codes: 0 done; 2 a problem the user can act on (a missing file, an
unknown column, non-numeric data, NaN, a file that is not a model, an
unknown backend, training that diverged, not enough memory), said on stderr
as ``bpnn: error: ...``; 1 a bug in bpnn (any other exception), shown with
its traceback; 130 interrupted; 141 the reader of the output went away
(``bpnn predict ... | head``: quietly).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from ._version import __version__
from .backends import BackendError
from .tabular.tables import DataError
from .commands import COMMANDS
from .divergence import DivergenceError
from .errors import InputError, MissingDependency
from .files import ModelFileError

#: bpnn's own errors about the user's input or data, and a missing optional package
#: (its message says what to install): exit code 2 and their message.  Any other
#: ImportError is a bug (a broken install of bpnn itself) and shows as one.
USER_ERRORS = (InputError, DataError, BackendError, ModelFileError, DivergenceError,
               MissingDependency)


def _parser():
    parser = argparse.ArgumentParser(
        prog="bpnn", description="Backpropagation neural networks on NumPy, CuPy, PyTorch, JAX "
                                 "and array-api-strict.")
    parser.add_argument("--version", action="version", version=f"bpnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``bpnn`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (see the module's documentation).
    """
    try:
        args = _parser().parse_args(argv)  # --help into a closed pipe is a quiet stop too
        args.argv = list(sys.argv[1:] if argv is None else argv)  # to say a command again
        code = args.run(args)
        sys.stdout.flush()  # a reader that has gone is found here, not at exit
        return code
    except USER_ERRORS as error:
        return _say(str(error))
    except BrokenPipeError:  # the reader (head, less) has gone: stop quietly
        _silence_stdout()
        return 141
    except OSError as error:  # a folder that does not exist, a disk that is full...
        return _say(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
    except MemoryError as error:  # bpnn's OutOfMemory says how much; a bare one does not
        return _say(str(error) or "not enough memory; try a smaller network, batch or data set")
    except KeyboardInterrupt:
        print("bpnn: interrupted", file=sys.stderr)
        return 130
    except Exception:  # anything else is a bug in bpnn: show it as one
        traceback.print_exc()
        print(f"bpnn {__version__}: internal error (a bug in bpnn, not in your input); please "
              "report it with the traceback above", file=sys.stderr)
        return 1


def _say(message):
    """Print ``message`` as the command's error; the exit code for a user's problem."""
    print(f"bpnn: error: {message}", file=sys.stderr)
    return 2


def _silence_stdout():
    """Point standard output at the null device, so that Python's flush at exit does not
    fail again on the closed pipe (the recipe of Python's ``signal`` documentation)."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
