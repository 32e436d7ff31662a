"""The file container of models and checkpoints: safetensors with a JSON config.

Layout (the safetensors format)::

    8 bytes      N, the header length, little-endian unsigned
    N bytes      JSON header: every array's dtype, shape and byte range, and
                 "__metadata__": {"bpnn": "<JSON config>"}
    the rest     the arrays' bytes, back to back, in the order of their ranges

bpnn's config (in ``__metadata__["bpnn"]``) holds ``format`` ("bpnn"),
``version``, ``kind`` ("model" or "checkpoint"), ``sha256`` (of the config
without it and of every array's bytes, in name order) and the content.

Reading trusts nothing: the path must be a regular file (a FIFO, socket,
device or folder is refused before it is opened, and again on the opened
descriptor); the header length, the JSON, every dtype, shape and byte range
are read first and checked, with exact integers, against caps and against the
file's real size before any array is read, and then only the bytes they
declare are read; only float32, float64 and int64 arrays are accepted; the
checksum must match; nothing is ever unpickled.  Every problem is a
:class:`ModelFileError` that says what is wrong.

Writing is atomic (:mod:`bpnn.writing`): a temporary file in the same folder,
flushed and ``fsync``-ed, then ``os.replace``-d over the target, and the
folder synced: a crash at any moment leaves the old file or the new one,
never a mix; only a regular file is ever replaced.
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from ..errors import ModelFileError
from ..validation import open_regular, read_exactly
from ..writing import write_atomic  # noqa: F401 - the writer of models and checkpoints
from .schema import finite_json

FORMAT = "bpnn"
VERSION = 1
#: The array dtypes a file may hold (safetensors names) and their sizes in bytes.
DTYPES = {"F32": 4, "F64": 8, "I64": 8}
#: The largest header accepted (a config of thousands of layers is well below).
MAX_HEADER_BYTES = 16 * 2 ** 20
#: The largest file read by default (4 GiB: half a billion float64 weights, which a
#: reader needs about twice that memory to load); ``max_bytes`` raises it.
MAX_FILE_BYTES = 2 ** 32
#: The most arrays a file may hold, and dimensions an array may have.
MAX_ARRAYS = 100_000
MAX_DIMS = 8


def checksum(config, arrays):
    """SHA-256 of the canonical config JSON and every array's bytes, in name order."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, allow_nan=False).encode())
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(arrays[name].tobytes())
    return digest.hexdigest()


def encode(kind, content, arrays):
    """The file's bytes for ``content`` (JSON-able, finite) and host ``arrays`` by name."""
    from safetensors.numpy import save

    config = {"format": FORMAT, "version": VERSION, "kind": kind, "content": content}
    config["sha256"] = checksum(config, arrays)
    text = json.dumps(config, sort_keys=True, allow_nan=False)
    return save(dict(arrays), metadata={FORMAT: text})


def read(path, kind, max_bytes=MAX_FILE_BYTES):
    """``(content, arrays)`` from a file written by :func:`encode`, checked throughout.

    Parameters
    ----------
    path : str or path-like
    kind : str or tuple of str
        The kinds accepted (``"model"``, ``"checkpoint"``).
    max_bytes : int
        Files larger than this are refused before they are read.

    Returns
    -------
    content : dict
    arrays : dict of str to numpy.ndarray
        Host arrays (the caller checks their shapes against ``content``).

    Raises
    ------
    ModelFileError
        For anything but a sound bpnn file of an accepted kind.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    path = os.fspath(path)
    descriptor, size = open_regular(path, "a bpnn model file", ModelFileError)
    try:
        return _read_open(path, descriptor, size, kinds, max_bytes)
    finally:
        os.close(descriptor)


def _read_open(path, descriptor, size, kinds, max_bytes):
    """:func:`read` on an open regular file of ``size`` bytes: the header is read and
    checked against ``size`` first, then exactly the bytes it declares."""
    if size > max_bytes:
        raise ModelFileError(f"{path}: the file has {size} bytes, more than the "
                             f"{max_bytes} allowed (raise max_bytes to read it)")
    if size < 8:
        raise ModelFileError(f"{path}: {size} bytes, too short to be a bpnn model file")
    prefix = read_exactly(descriptor, 8, 0, path, ModelFileError)
    length = int.from_bytes(prefix, "little")
    if length > min(MAX_HEADER_BYTES, size - 8):
        raise ModelFileError(f"{path}: not a bpnn model file (it declares a header of {length} "
                             f"bytes; the file has {size})")
    text = read_exactly(descriptor, length, 8, path, ModelFileError)
    header = _header(path, text, size - 8 - length)
    config = _config(path, header, kinds)
    data = read_exactly(descriptor, size, 0, path, ModelFileError)  # all of it was declared
    if data[:8 + length] != prefix + text:
        raise ModelFileError(f"{path}: the file changed while it was read")
    arrays = _arrays(path, data)
    content = config["content"]
    try:
        finite_json(path, content, "", max_int=None)  # JSON reads 1e400 as infinity
    except RecursionError:
        raise ModelFileError(f"{path}: bpnn's config in the file is nested too deeply") from None
    expected = config.pop("sha256")
    if checksum(config, arrays) != expected:
        raise ModelFileError(f"{path}: the checksum does not match: the file is damaged")
    return content, arrays


def _header(path, text, body):
    """The safetensors JSON header ``text``, every entry checked against the ``body``
    bytes that follow it in the file."""
    try:
        header = json.loads(text.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{path}: not a bpnn model file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: not a bpnn model file (its header is not a JSON object)")
    if len(header) > MAX_ARRAYS + 1:
        raise ModelFileError(f"{path}: declares {len(header) - 1} arrays, more than "
                             f"{MAX_ARRAYS}")
    ranges = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        ranges.append((_entry(path, name, entry), name))
    end = 0
    for (begin, stop), name in sorted(ranges):
        if begin != end:
            raise ModelFileError(f"{path}: array {name!r} starts at byte {begin} of the data, "
                                 f"expected {end} (overlapping or gapped ranges)")
        end = stop
    if end != body:
        raise ModelFileError(f"{path}: the arrays declare {end} bytes of data, the file holds "
                             f"{body} (truncated or padded)")
    return header


def _entry(path, name, entry):
    """The byte range of one array entry, after checking its dtype and shape."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{path}: array {name!r} has a malformed entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ModelFileError(f"{path}: array {name!r} has dtype {dtype!r}; bpnn files hold "
                             f"only {', '.join(DTYPES)}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and all(
            type(dim) is int and 0 <= dim < 2 ** 40 for dim in shape)):
        raise ModelFileError(f"{path}: array {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            type(offset) is int and 0 <= offset < 2 ** 62 for offset in offsets)):
        raise ModelFileError(f"{path}: array {name!r} has invalid byte offsets {offsets!r}")
    begin, stop = offsets
    if stop - begin != math.prod(shape) * DTYPES[dtype]:
        raise ModelFileError(f"{path}: array {name!r} declares shape {shape} of {dtype} but "
                             f"{stop - begin} bytes")
    return begin, stop


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _config(path, header, kinds):
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or FORMAT not in metadata:
        raise ModelFileError(f"{path}: a safetensors file without bpnn's config (not saved "
                             "by bpnn)")
    try:
        config = json.loads(metadata[FORMAT], parse_constant=_refuse_constant)
    except (TypeError, ValueError, RecursionError):
        raise ModelFileError(f"{path}: bpnn's config in the file is not JSON") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: bpnn's config in the file is malformed")
    version = config.get("version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{path}: invalid format version {version!r}")
    if version > VERSION:
        raise ModelFileError(f"{path}: written in format version {version} by a newer bpnn; "
                             f"this bpnn reads up to version {VERSION} (upgrade bpnn)")
    if config.get("kind") not in kinds:
        raise ModelFileError(f"{path}: a bpnn {config.get('kind')!r} file, expected "
                             f"{' or '.join(repr(kind) for kind in kinds)}")
    if not isinstance(config.get("content"), dict) or not isinstance(config.get("sha256"), str):
        raise ModelFileError(f"{path}: bpnn's config in the file is incomplete")
    return config


def _arrays(path, data):
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        return load(bytes(data))
    except (SafetensorError, ValueError, TypeError, OverflowError, MemoryError) as error:
        raise ModelFileError(f"{path}: the arrays cannot be read ({error})") from None
