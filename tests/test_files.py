"""Model files: save then load gives the same network on any backend; every bad
file is a ModelFileError that says what is wrong."""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest

import bpnn
from bpnn import ModelFileError
from helpers import host_random

X = host_random(0, (30, 3))


def trained(backend, dtype="float64"):
    net = bpnn.mlp([3, 6, 4, 2], activation=["relu", "rbf"], loss="cross_entropy",
                   backend=backend.name, dtype=dtype, seed=2)
    net.layers.insert(2, bpnn.Activation("leaky_relu", alpha=0.2))  # a hyper-parameter too
    net = bpnn.Network(net.layers, loss="cross_entropy", backend=backend.name, dtype=dtype,
                       seed=2)
    T = np.eye(2)[np.arange(30) % 2]
    net.fit(X, T, epochs=3, optimizer="adam")
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_then_load_gives_bit_identical_predictions(backend, tmp_path, dtype):
    net = trained(backend, dtype)
    net.save(tmp_path / "model.bpnn")
    loaded = bpnn.load(tmp_path / "model.bpnn", backend=backend.name)
    assert loaded.dtype_name == dtype and loaded.backend.name == backend.name
    assert repr(loaded) == repr(net)
    np.testing.assert_array_equal(backend.to_numpy(loaded.predict(X)),
                                  backend.to_numpy(net.predict(X)))
    for a, b in zip(loaded.get_weights(), net.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_file_opens_on_every_backend(backend, tmp_path):
    source = trained(bpnn.get_backend("numpy"))
    source.save(tmp_path / "model.bpnn")
    loaded = bpnn.load(tmp_path / "model.bpnn", backend=backend.name)
    assert loaded.backend.name == backend.name
    np.testing.assert_allclose(backend.to_numpy(loaded.predict(X)), source.predict(X),
                               rtol=1e-12, atol=1e-14)


def test_loaded_network_trains_on(tmp_path):
    net = trained(bpnn.get_backend("numpy"))
    net.save(tmp_path / "m.bpnn")
    loaded = bpnn.load(tmp_path / "m.bpnn")
    before = loaded.get_weights()
    loaded.fit(X, np.eye(2)[np.arange(30) % 2], epochs=2)  # its arrays are its own, writable
    assert not np.array_equal(before[0], loaded.get_weights()[0])
    np.testing.assert_array_equal(before[0], bpnn.load(tmp_path / "m.bpnn").get_weights()[0])


def test_unbuilt_and_diverged_networks_are_not_saved(tmp_path):
    with pytest.raises(ValueError, match="no weights yet"):
        bpnn.mlp([2, 3, 1]).save(tmp_path / "m.bpnn")
    net = bpnn.mlp([2, 3, 1], backend="numpy", seed=0).build()
    net.parameters[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="layers.0.W holds NaN or infinity"):
        net.save(tmp_path / "m.bpnn")
    assert not (tmp_path / "m.bpnn").exists()


def test_saving_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    net = trained(bpnn.get_backend("numpy"))
    for _ in range(3):
        net.save(tmp_path / "m.bpnn")
    assert [p.name for p in tmp_path.iterdir()] == ["m.bpnn"]
    with pytest.raises(ValueError, match="does not exist"):
        net.save(tmp_path / "missing" / "m.bpnn")


# -- hostile and damaged files -----------------------------------------------------
def valid_bytes(tmp_path):
    net = bpnn.mlp([2, 3, 1], activation="sigmoid", backend="numpy", seed=0).build()
    net.save(tmp_path / "good.bpnn")
    return (tmp_path / "good.bpnn").read_bytes()


def split(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header, body, pad=True):
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def with_config(data, change):
    """Re-write the bpnn config inside a valid file (the checksum then no longer matches
    unless the change is to the checksum itself)."""
    header, body = split(data)
    config = json.loads(header["__metadata__"]["bpnn"])
    change(config)
    header["__metadata__"]["bpnn"] = json.dumps(config)
    return join(header, body)


def resealed(data, change):
    """Change the config and recompute its checksum: a well-formed file that lies."""
    from bpnn.files.container import checksum
    from safetensors.numpy import load

    header, body = split(data)
    config = json.loads(header["__metadata__"]["bpnn"])
    change(config)
    config.pop("sha256")
    arrays = load(data)
    config["sha256"] = checksum(config, arrays)
    header["__metadata__"]["bpnn"] = json.dumps(config)
    return join(header, body)


def layer(config, index):
    return config["content"]["network"]["layers"][index]


CASES = {
    "empty": (lambda d: b"", "too short"),
    "truncated header length": (lambda d: d[:5], "too short"),
    "truncated data": (lambda d: d[:-7], "truncated or padded"),
    "padded data": (lambda d: d + b"\0" * 8, "truncated or padded"),
    "huge declared header": (lambda d: struct.pack("<Q", 2 ** 60) + d[8:],
                             "declares a header of 1152921504606846976 bytes"),
    "header not JSON": (lambda d: d[:8] + b"\xff" * (len(d) - 8), "header is not JSON"),
    "pickle renamed": (lambda d: pickle.dumps({"W": [1.0, 2.0]}), "not a bpnn model file"),
    "flipped weight byte": (lambda d: d[:-3] + bytes([d[-3] ^ 0x10]) + d[-2:],
                            "checksum does not match"),
    "wrong dtype": (lambda d: join(*_retyped(split(d), "layers.0.W", "I32")),
                    "dtype 'I32'; bpnn files hold only F32, F64, I64"),
    "bool dtype": (lambda d: join(*_retyped(split(d), "layers.0.W", "BOOL")), "dtype 'BOOL'"),
    "overlapping offsets": (lambda d: join(*_offsets(split(d), "layers.0.b", -4)),
                            "overlapping or gapped"),
    "huge declared shape": (lambda d: join(*_reshaped(split(d), "layers.0.W", [2 ** 39, 2 ** 30])),
                            r"declares shape \[549755813888, 1073741824\] of F64 but 48 bytes"),
    "absurd dimension": (lambda d: join(*_reshaped(split(d), "layers.0.W", [2 ** 50])),
                         "invalid shape"),
    "negative dimension": (lambda d: join(*_reshaped(split(d), "layers.0.W", [-2, -3])),
                           "invalid shape"),
    "transposed array": (lambda d: join(*_reshaped(split(d), "layers.0.W", [3, 2])),
                         r"has shape \(3, 2\), the config says \(2, 3\)"),
    "no bpnn config": (lambda d: join(*_without_metadata(split(d))), "without bpnn's config"),
    "newer version": (lambda d: with_config(d, lambda c: c.update(version=99)),
                      "format version 99 by a newer bpnn"),
    "changed config": (lambda d: with_config(d, lambda c: layer(c, 1).update(
        activation="tanh")), "checksum does not match"),
    "import path as activation": (lambda d: resealed(d, lambda c: layer(c, 1).update(
        activation="os.system")), "unknown activation 'os.system'"),
    "unknown layer type": (lambda d: resealed(d, lambda c: layer(c, 0).update(
        type="Lambda")), "unknown type 'Lambda'"),
    "width disagrees with array": (lambda d: resealed(d, lambda c: layer(c, 0).update(n_out=4)),
                                   "takes 3 inputs but the layer below gives 4"),
    "huge width": (lambda d: resealed(d, lambda c: layer(c, 0).update(n_out=2 ** 40)),
                   "invalid n_out"),
    "unknown loss": (lambda d: resealed(d, lambda c: c["content"]["network"].update(
        loss="__import__")), "unknown loss"),
    "NaN in config": (lambda d: join(*_nan_seed(split(d))), "config in the file is not JSON"),
    "checkpoint expected": (None, "expected 'checkpoint'"),
}


def _retyped(parts, name, dtype):
    header, body = parts
    header[name]["dtype"] = dtype
    return header, body


def _offsets(parts, name, shift):
    header, body = parts
    header[name]["data_offsets"] = [v + shift for v in header[name]["data_offsets"]]
    return header, body


def _reshaped(parts, name, shape):
    header, body = parts
    header[name]["shape"] = shape
    return header, body


def _nan_seed(parts):
    header, body = parts
    text = header["__metadata__"]["bpnn"]
    header["__metadata__"]["bpnn"] = text.replace('"seed": 0', '"seed": NaN')
    assert header["__metadata__"]["bpnn"] != text
    return header, body


def _without_metadata(parts):
    header, body = parts
    del header["__metadata__"]
    return header, body


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_files_raise_model_file_error_with_the_reason(tmp_path, case):
    mutate, message = CASES[case]
    data = valid_bytes(tmp_path)
    path = tmp_path / "bad.bpnn"
    if mutate is None:  # a model where a checkpoint is expected
        path.write_bytes(data)
        from bpnn.files.checkpoint import restore_checkpoint
        net = bpnn.mlp([2, 3, 1], activation="sigmoid", backend="numpy", seed=0).build()
        with pytest.raises(ModelFileError, match=message):
            restore_checkpoint(path, net, bpnn.SGD(), [], bpnn.History(), {})
        return
    path.write_bytes(mutate(data))
    with pytest.raises(ModelFileError, match=message):
        bpnn.load(path)


def test_missing_file_and_folder_and_size_cap(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        bpnn.load(tmp_path / "nothing.bpnn")
    with pytest.raises(ModelFileError, match="a folder"):
        bpnn.load(tmp_path)
    (tmp_path / "m.bpnn").write_bytes(valid_bytes(tmp_path))
    with pytest.raises(ModelFileError, match="more than the 100 allowed"):
        bpnn.load(tmp_path / "m.bpnn", max_bytes=100)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
