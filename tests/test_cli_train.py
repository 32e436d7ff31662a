"""``bpnn train``'s defaults and options: early stopping with the best epoch kept, the
stratified validation split, L2, the warnings of an overfit or worse-than-the-mean
model, the scale of the losses, ``--quiet``, checkpoints and resuming, Ctrl-C."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from bpnn.cli import main
from bpnn.files.container import read
from bpnn.tabular.tables import read_table


def write_csv(path, X, y, names=None):
    names = names or [f"x{index}" for index in range(X.shape[1])]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*names, "y"])
        writer.writerows([[*row, target] for row, target in zip(X.tolist(), list(y))])
    return path


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """60 rows whose target is noise: a wide network overfits it at once."""
    rng = np.random.default_rng(1)
    return write_csv(tmp_path_factory.mktemp("noise") / "noise.csv", rng.normal(size=(60, 4)),
                     rng.normal(size=60))


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    """100 rows of two classes, 80 and 20, separable by the first column."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 3))
    y = np.where(np.arange(100) < 20, "rare", "common")
    X[:20, 0] += 3.0
    return write_csv(tmp_path_factory.mktemp("labels") / "labels.csv", X, y)


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_early_stopping_keeps_the_best_epoch(noise, tmp_path, capsys):
    code, out, err = run(capsys, "train", noise, "--target", "y", "--hidden", 32,
                         "--out", tmp_path / "m.bpnn", "--quiet", "--patience", 3)
    assert code == 0, err
    assert "stopping after 3 without a better validation loss" in out
    trained = int(out.split(" epochs in ")[0].splitlines()[-1])
    kept = int(out.split("kept epoch ")[1].split(",")[0])
    assert "stopped early" in out and trained == kept + 3  # patience 3 after the best
    assert "validation loss ended at" not in err  # the best epoch is kept: no overfit said


def test_without_early_stopping_an_overfit_run_is_said(noise, tmp_path, capsys):
    code, out, err = run(capsys, "train", noise, "--target", "y", "--hidden", "64,64",
                         "--epochs", 60, "--no-early-stopping", "--quiet",
                         "--out", tmp_path / "m.bpnn")
    assert code == 0 and "\n60 epochs in" in out
    assert "all of them (no early stopping)" in out
    assert "bpnn: warning: the validation loss ended at" in err and "times its best" in err
    # noise: the model is worse than the mean, and the summary says so
    assert "bpnn: warning: the validation R² is -" in err and "below 0" in err


def test_regression_says_the_scale_of_its_losses(noise, tmp_path, capsys):
    code, out, _ = run(capsys, "train", noise, "--target", "y", "--epochs", 2, "--quiet",
                       "--out", tmp_path / "m.bpnn")
    assert code == 0 and "mean squared error of the standardized target" in out
    assert "(standardized target)" in out and "RMSE" in out and "in the units of 'y'" in out


def test_without_validation_rows_early_stopping_watches_the_training_loss(noise, tmp_path,
                                                                          capsys):
    code, out, _ = run(capsys, "train", noise, "--target", "y", "--epochs", 3, "--quiet",
                       "--validation-fraction", 0, "--out", tmp_path / "m.bpnn")
    assert code == 0 and "without a better training loss" in out
    assert "the best loss" in out


def test_the_validation_split_is_stratified(labels):
    table = read_table(labels, "y")
    train_rows, val_rows = table.split(0.25, 0, labels=table.y)
    assert sorted([*train_rows, *val_rows]) == list(range(100))
    assert sum(table.y[val_rows] == "rare") == 5 and len(val_rows) == 25  # 20% of 25
    # a share rounds by the largest remainder: 0.1 of 20 and 80 is 2 and 8 exactly;
    # 0.15 of 100 is 15: 3 and 12
    assert sum(table.y[table.split(0.15, 3, labels=table.y)[1]] == "rare") == 3
    # without labels: the plain random split of before
    assert len(table.split(0.25, 0)[1]) == 25


def test_l2_reaches_the_fit(labels, tmp_path, capsys):
    checkpoint = tmp_path / "c.ckpt"
    code, out, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 2, "--quiet",
                       "--l2", 0.5, "--checkpoint", checkpoint, "--out", tmp_path / "m.bpnn")
    assert code == 0 and "l2 0.5" in out
    settings = read(checkpoint, "checkpoint")[0]["training"]["settings"]
    assert settings["l2"] == 0.5 and settings["l2_shared"] is True


@pytest.mark.parametrize("hidden", ["64,,3", "64,", ",8", "0", "8,x"])
def test_a_malformed_hidden_is_refused(labels, capsys, hidden):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(labels), "--target", "y", "--hidden", hidden])
    assert exit_info.value.code == 2
    assert f"expected positive integers like 64,32, got {hidden!r}" in capsys.readouterr().err


def test_resume_without_a_file_continues_the_checkpoint_with_its_settings(labels, tmp_path,
                                                                         capsys):
    checkpoint, model = tmp_path / "c.ckpt", tmp_path / "m.bpnn"
    first = ["train", labels, "--target", "y", "--quiet", "--out", model,
             "--checkpoint", checkpoint, "--no-early-stopping"]
    code, out, _ = run(capsys, *first, "--epochs", 3, "--hidden", "5,4", "--activation", "tanh",
                       "--lr", 0.003, "--batch-size", 16, "--seed", 7)
    assert code == 0 and "network 3-5-4-2 tanh" in out
    # the network, optimizer and seed come from the checkpoint: only --epochs is given
    code, out, err = run(capsys, *first, "--epochs", 5, "--resume")
    assert code == 0, err
    assert "network 3-5-4-2 tanh" in out
    assert "2 epochs in " in out and "(epochs 4-5 of the run resumed)" in out
    training = read(checkpoint, "checkpoint")[0]["training"]
    assert training["next_epoch"] == 5 and training["settings"]["batch_size"] == 16
    assert training["settings"]["optimizer"]["lr"] == 0.003


def test_resume_without_a_checkpoint_is_refused(labels, capsys):
    code, _, err = run(capsys, "train", labels, "--target", "y", "--resume")
    assert code == 2 and "--resume without a file continues the run of --checkpoint" in err


def test_the_checkpoint_is_written_every_tenth_of_the_epochs(labels, tmp_path, capsys,
                                                             monkeypatch):
    from bpnn.files import checkpoint as checkpoints

    written = []
    save = checkpoints.save_checkpoint
    monkeypatch.setattr(checkpoints, "save_checkpoint",
                        lambda *a, **k: (written.append(a[5]), save(*a, **k))[1])
    code, _, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 20, "--quiet",
                     "--no-early-stopping", "--checkpoint", tmp_path / "c.ckpt",
                     "--out", tmp_path / "m.bpnn")
    assert code == 0 and len(written) == 10  # every 2 epochs
    written.clear()
    code, _, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 4, "--quiet",
                     "--no-early-stopping", "--checkpoint", tmp_path / "d.ckpt",
                     "--checkpoint-every", 3, "--out", tmp_path / "m.bpnn")
    assert code == 0 and len(written) == 2  # after epoch 3 and the last
    written.clear()
    code, _, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 120, "--quiet",
                     "--no-early-stopping", "--checkpoint", tmp_path / "e.ckpt",
                     "--hidden", 4, "--out", tmp_path / "m.bpnn")
    assert code == 0 and written == [*range(9, 120, 10)]  # at most 10 epochs apart


def test_ctrl_c_says_the_checkpoint_and_the_command_to_resume(labels, tmp_path, capsys,
                                                              monkeypatch):
    from bpnn.network import Network

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Network, "fit", interrupted)
    checkpoint = tmp_path / "my run.ckpt"
    code, _, err = run(capsys, "train", labels, "--target", "y", "--checkpoint", checkpoint,
                       "--resume", "--out", tmp_path / "m.bpnn")
    assert code == 130
    assert f"bpnn: no checkpoint at {checkpoint} yet: starting afresh" in err
    assert f"the checkpoint {checkpoint} holds the run" in err
    command = err.splitlines()[-1]
    assert command == (f"  bpnn train {labels} --target y --checkpoint '{checkpoint}' --out "
                       f"{tmp_path / 'm.bpnn'} --resume")
    # without a checkpoint, Ctrl-C is the plain interruption
    code, _, err = run(capsys, "train", labels, "--target", "y", "--out", tmp_path / "m.bpnn")
    assert code == 130 and err == "bpnn: interrupted\n"


def test_threads_one_for_a_small_network_all_cores_for_a_large_one(labels, tmp_path, capsys,
                                                                  monkeypatch):
    from bpnn.commands import threads

    assert threads.choose([4, 64, 64, 3], 32) == (1, "a small network: 8.7e+05 flops a step")
    monkeypatch.setattr(threads, "cores", lambda: 6)
    assert threads.choose([784, 1024, 1024, 10], 256)[0] == 6
    assert threads.choose([4, 8, 3], 32, requested=3) == (3, "--threads")
    seen = []
    from bpnn.commands import train

    def limited(count, backend_name):
        from threadpoolctl import threadpool_info, threadpool_limits

        seen.append(count)
        with threadpool_limits(limits=count):
            seen.append({pool["num_threads"] for pool in threadpool_info()})
            yield

    import contextlib

    monkeypatch.setattr(train, "limited_threads", contextlib.contextmanager(limited))
    code, out, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 1, "--quiet",
                       "--out", tmp_path / "m.bpnn")
    assert code == 0 and "\n1 thread (a small network" in out and seen[0] == 1
    assert seen[1] <= {1}  # every loaded BLAS pool at one thread during the fit
    code, out, _ = run(capsys, "train", labels, "--target", "y", "--epochs", 1, "--quiet",
                       "--threads", 2, "--out", tmp_path / "m.bpnn")
    assert code == 0 and "\n2 threads (--threads)" in out and seen[2] == 2


def test_limited_gives_the_torch_pool_back():
    torch = pytest.importorskip("torch")
    from bpnn.backends import get_backend
    from bpnn.commands.threads import limited

    before = torch.get_num_threads()
    with limited(1, get_backend("torch")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with limited(1, get_backend("numpy")):  # no pool of its own: only the BLAS/OpenMP pools
        pass
    assert torch.get_num_threads() == before


def test_the_readmes_command_line_block_runs(tmp_path, capsys, monkeypatch):
    """The README's block of ``bpnn`` commands runs as written, on small tables."""
    import pathlib
    import re
    import shlex

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = next(text for text in re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
                 if text.startswith("bpnn train prices.csv"))
    commands = [line.split("  #")[0] for line in block.replace("\\\n", " ").splitlines()]
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    with open(tmp_path / "prices.csv", "w", newline="") as file:
        csv.writer(file).writerows([["a", "b", "price"], *np.column_stack(
            [X, X[:, 0] - X[:, 1]]).tolist()])
    rows = [["customer", "notes", "a", "b", "grade"]] + [
        [f"c{i}", f"note {i}", "" if i == 5 else f"{x:.4f}", f"{z:.4f}", "AB"[x > z]]
        for i, (x, z) in enumerate(X.tolist())]
    for name in ("data.csv", "new_rows.csv", "test.csv"):
        with open(tmp_path / name, "w", newline="") as file:
            csv.writer(file).writerows(rows)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "bpnn"
        if argv[1] == "train":  # the same commands, a few epochs
            argv += ["--epochs", "3", "--quiet"]
        assert main(argv[1:]) == 0, (command, capsys.readouterr().err)
    assert (tmp_path / "curves.png").exists() or "--plot" not in block
    with open(tmp_path / "predictions.csv", newline="") as file:
        assert next(csv.reader(file)) == ["customer", "grade", "p(A)", "p(B)"]


def test_a_regressions_plot_says_its_scale(noise, tmp_path, capsys, monkeypatch):
    import bpnn.plot

    titles = []
    monkeypatch.setattr(bpnn.plot, "loss_curve", lambda history, **k: titles.append(k["title"]))
    code, out, _ = run(capsys, "train", noise, "--target", "y", "--epochs", 2, "--quiet",
                       "--plot", tmp_path / "c.png", "--out", tmp_path / "m.bpnn")
    assert code == 0 and titles == ["Learning curve (MSE of the standardized target)"]
