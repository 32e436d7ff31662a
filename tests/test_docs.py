"""The examples in the README and the package docstring run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_as_it_stands(index, tmp_path, monkeypatch):
    """Each Python block of the README runs alone, in a fresh namespace: its imports and
    data are in it, as a reader copying it needs them."""
    block = BLOCKS[index]
    if "backend=\"torch\"" in block:
        pytest.importorskip("torch", reason="the README's layer-by-layer example runs on "
                                            "PyTorch")
    if "bpnn.plot." in block:
        pytest.importorskip("matplotlib", reason="the README's plot example needs matplotlib")
    if "onnxruntime" in block:
        pytest.importorskip("onnxruntime", reason="the README's ONNX example serves in "
                                                  "onnxruntime")
    monkeypatch.chdir(tmp_path)  # the examples write a CSV log and a PNG
    namespace = {}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    # what each example promises
    if "net.backward(" in block:
        assert len(namespace["grads"]) == len(namespace["net"].parameters)
    if "bpnn.load(" in block and "same" in namespace:
        np = namespace["np"]
        np.testing.assert_array_equal(namespace["same"].predict(namespace["X"]),
                                      namespace["net"].predict(namespace["X"]))
        assert (tmp_path / "run.ckpt").exists()
    if "features.npy" in block:
        assert namespace["net"].history.epoch == [0, 1]
    if "bpnn.MLPClassifier(" in block:
        assert namespace["scores"].mean() > 0.9
        clf = namespace["clf"]
        assert len(clf.validation_loss_curve_) == clf.n_iter_
    if "EarlyStopping(" in block:
        history, stop = namespace["history"], namespace["stop"]
        assert stop.best == min(history["val_loss"])
        assert history["loss"][-1] < history["loss"][0]
        assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "training_log.csv").read_text().startswith("epoch,loss,val_loss,lr")


def readme_commands():
    """Every ``bpnn ...`` command of the README's shell blocks (continuations joined,
    comments and an ``mpiexec ...`` prefix dropped), as argument lists."""
    import shlex

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "bpnn" in words:
                commands.append(words[words.index("bpnn") + 1:])
    return commands


def test_every_readme_command_is_one_the_command_line_takes():
    """The shell blocks that need a GPU, MPI or minutes to run are checked this far:
    each ``bpnn`` command and option they show exists and takes the value shown (the
    command-line block and the demos also run, in test_cli_train and test_demos)."""
    from bpnn.cli import _parser

    commands = readme_commands()
    assert len(commands) >= 15 and ["info"] in commands
    for words in commands:
        try:
            _parser().parse_args(words)
        except SystemExit:
            pytest.fail(f"the README's `bpnn {' '.join(words)}` is refused")


def test_docstring_examples_run():
    """Every ``>>>`` example in bpnn's modules runs and prints what it shows."""
    import doctest
    import importlib
    import pkgutil

    import bpnn

    attempted = 0
    for info in pkgutil.walk_packages(bpnn.__path__, prefix="bpnn."):
        if info.name.endswith("__main__"):  # running it is running the command
            continue
        module = importlib.import_module(info.name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, info.name
        attempted += result.attempted
    result = doctest.testmod(bpnn, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 4 and attempted >= 12


def test_readme_gallery_matches_the_script_and_the_files():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_gallery", README.parent / "docs" / "make_gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    text = README.read_text()
    for name, command in gallery.COMMANDS.items():
        path = f"docs/gallery/{name}"
        assert f"`{command.format(path=path)}`" in text
        assert f"]({path})" in text
        assert (README.parent / path).read_bytes()[:4] == b"\x89PNG"
