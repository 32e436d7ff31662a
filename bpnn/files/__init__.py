"""Model files and checkpoints: safetensors arrays with a versioned JSON config.

* :func:`save` / :func:`load` — a network to and from a file that opens on
  any backend; ``Network.save(path)`` does the same.
* Every problem with a file is a :class:`ModelFileError` (a ``ValueError``)
  whose message says what is wrong; nothing in a file is ever executed or
  unpickled.
* Writes are atomic (temporary file, ``fsync``, ``os.replace``; see
  :mod:`bpnn.writing`) and replace only regular files; a destination that
  cannot be written, or a write that fails, is a :class:`WriteError` naming
  the file.
"""

from ..validation import WriteError
from .container import ModelFileError
from .model_file import load_model as load
from .model_file import save_model as save

__all__ = ["ModelFileError", "WriteError", "load", "save"]
