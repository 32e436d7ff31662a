"""Fuzzing the loader: 10,000 mutated model files, each rejected with ModelFileError
(or, where the mutation changed nothing that matters, loaded), each in under a second."""

from __future__ import annotations

import json
import pickle
import random
import struct
import time

import numpy as np
import pytest

import bpnn
from bpnn import ModelFileError

MUTATIONS = 10_000


def _header_span(data):
    n = struct.unpack("<Q", data[:8])[0]
    return 8, 8 + n


def truncate(rng, data):
    return data[:rng.randrange(len(data))]


def flip_bytes(rng, data):
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        index = rng.randrange(len(out))
        out[index] ^= 1 << rng.randrange(8)
    return bytes(out)


def flip_header_byte(rng, data):
    begin, end = _header_span(data)
    out = bytearray(data)
    out[rng.randrange(begin, end)] = rng.randrange(256)
    return bytes(out)


def huge_header_length(rng, data):
    return struct.pack("<Q", rng.choice([2 ** 63, 2 ** 40, len(data), len(data) - 7,
                                         rng.randrange(2 ** 64)])) + data[8:]


def _edit_header(rng, data, edit):
    begin, end = _header_span(data)
    header = json.loads(data[begin:end])
    names = [name for name in header if name != "__metadata__"]
    edit(rng, header, rng.choice(names))
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data[end:]


def wrong_dtype(rng, data):
    def edit(rng, header, name):
        header[name]["dtype"] = rng.choice(["F16", "BF16", "I8", "U8", "BOOL", "I32", "F64",
                                            "F32", "I64", "C64", "", "object"])
    return _edit_header(rng, data, edit)


def wrong_offsets(rng, data):
    def edit(rng, header, name):
        begin, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = rng.choice([
            [begin - 4, end], [begin, end + 8], [0, end], [begin, begin], [end, begin],
            [begin, 2 ** 62], [-1, end], [begin + 0.5, end]])
    return _edit_header(rng, data, edit)


def huge_shape(rng, data):
    def edit(rng, header, name):
        header[name]["shape"] = rng.choice([[2 ** 40], [2 ** 31, 2 ** 31], [10 ** 30],
                                            [-1], [1] * 20, "3x3", [2.5], []])
    return _edit_header(rng, data, edit)


def edit_config(rng, data):
    def edit(rng, header, name):
        config = json.loads(header["__metadata__"]["bpnn"])
        layers = config["content"]["network"]["layers"]
        entry = rng.choice(layers)
        key = rng.choice(list(entry))
        entry[key] = rng.choice([None, -1, 0, 2 ** 62, 1.5, "relu", "os.system", [], {},
                                 "Dense", "__import__('os')", 1e308, True])
        header["__metadata__"]["bpnn"] = json.dumps(config)
    return _edit_header(rng, data, edit)


def pickle_payload(rng, data):
    return pickle.dumps({"layers.0.W": np.ones((2, 3)), "config": "evil"},
                        protocol=rng.randint(0, pickle.HIGHEST_PROTOCOL))


def splice(rng, data):
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    return data[:a] + data[b:] + data[a:b]


OPERATORS = [truncate, flip_bytes, flip_header_byte, huge_header_length, wrong_dtype,
             wrong_offsets, huge_shape, edit_config, pickle_payload, splice]


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    net = bpnn.Network([bpnn.Dense(3, 4), bpnn.Activation("elu", alpha=0.5), bpnn.RBF(4, 3),
                        bpnn.Dense(3, 2), bpnn.Activation("softmax")], loss="cross_entropy",
                       backend="numpy", seed=0).build()
    net.save(folder / "model.bpnn")
    return net, (folder / "model.bpnn").read_bytes(), folder


def test_mutated_files_only_raise_the_documented_error(valid):
    net, data, folder = valid
    rng = random.Random(20261123)
    X = np.random.default_rng(0).normal(size=(5, 3))
    expected = net.predict(X)
    rejected = loaded = 0
    slowest = 0.0
    counts = {op.__name__: 0 for op in OPERATORS}
    path = folder / "mutant.bpnn"
    for _ in range(MUTATIONS):
        operator = rng.choice(OPERATORS)
        counts[operator.__name__] += 1
        path.write_bytes(operator(rng, data))
        start = time.perf_counter()
        try:
            model = bpnn.load(path)
        except ModelFileError:
            rejected += 1
        else:  # the mutation touched nothing that matters: the model is the same one
            loaded += 1
            np.testing.assert_array_equal(model.predict(X), expected)
        slowest = max(slowest, time.perf_counter() - start)
    print(f"\nfuzz: {MUTATIONS} mutated files, {rejected} rejected with ModelFileError, "
          f"{loaded} loaded unchanged; slowest {slowest * 1e3:.1f} ms; {counts}")
    assert rejected + loaded == MUTATIONS
    assert rejected > 0.95 * MUTATIONS
    assert slowest < 1.0
