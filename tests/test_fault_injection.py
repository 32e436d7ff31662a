"""Kill -9 at random moments, also in the middle of checkpoint writes; resume each time;
the final weights equal those of a run never interrupted, bit for bit (NumPy)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import bpnn

KILLS = 50
EPOCHS = 500

TRAINER = '''
import os, sys, time
import numpy as np
import bpnn

checkpoint, out, epochs, announce = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
if announce:  # say when a checkpoint write reaches its fsync and its rename, and linger there
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        print("fsync", flush=True)
        time.sleep(0.002)
        real_fsync(fd)

    def replace(source, target):
        print("replace", flush=True)
        time.sleep(0.002)
        real_replace(source, target)
        print("replaced", flush=True)

    os.fsync, os.replace = fsync, replace
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4))
T = np.eye(3)[rng.integers(0, 3, 64)]
net = bpnn.mlp([4, 16, 16, 3], activation="relu", loss="cross_entropy", backend="numpy", seed=7)
net.fit(X, T, epochs=epochs, batch_size=8, optimizer="adam", validation_data=(X[:16], T[:16]),
        callbacks=[bpnn.EarlyStopping(patience=10 ** 6, restore_best_weights=True),
                   bpnn.ReduceLROnPlateau(monitor="loss", patience=3, min_delta=0.0)],
        checkpoint=checkpoint, resume=True)
net.save(out)
print("done", flush=True)
'''


def start(tmp_path, checkpoint, out, announce):
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    return subprocess.Popen([sys.executable, str(script), str(checkpoint), str(out), str(EPOCHS),
                             "1" if announce else "0"], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.PIPE)


def run_to_end(tmp_path, checkpoint, out):
    process = start(tmp_path, checkpoint, out, announce=False)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return bpnn.load(out).get_weights()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX kill -9")
def test_kill_nine_anywhere_then_resume_gives_the_uninterrupted_weights(tmp_path):
    reference = run_to_end(tmp_path, tmp_path / "reference.ckpt", tmp_path / "reference.bpnn")
    checkpoint, out = tmp_path / "run.ckpt", tmp_path / "run.bpnn"
    rng = random.Random(11)
    kills = {"timer": 0, "fsync": 0, "replace": 0, "replaced": 0}
    campaigns = 0
    while sum(kills.values()) < KILLS:
        moment = rng.choice(sorted(kills))
        process = start(tmp_path, checkpoint, out, announce=True)
        timer = None
        if moment == "timer":
            timer = threading.Timer(rng.uniform(0.05, 1.0), process.kill)
            timer.start()
            process.stdout.read()
        else:
            wanted, seen = rng.randint(1, 4), 0
            for line in process.stdout:
                seen += line.strip() == moment
                if seen == wanted:
                    process.send_signal(signal.SIGKILL)
                    break
        process.wait(timeout=300)
        if timer is not None:
            timer.cancel()
        process.stdout.close()
        process.stderr.close()
        if process.returncode == -signal.SIGKILL:
            kills[moment] += 1
            if checkpoint.exists():  # the old checkpoint or the new one, never a torn one
                bpnn.load(checkpoint)
        else:  # the run got to the end before the kill: check it, then start over
            assert process.returncode == 0
            for a, b in zip(bpnn.load(out).get_weights(), reference):
                np.testing.assert_array_equal(a, b)
            campaigns += 1
            checkpoint.unlink()
    final = run_to_end(tmp_path, checkpoint, out)
    for a, b in zip(final, reference):
        np.testing.assert_array_equal(a, b)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".bpnn-tmp-")]
    assert leftovers == []
    print(f"\nfault injection: {sum(kills.values())} kills survived {kills}, "
          f"{campaigns} extra full runs; final weights equal the uninterrupted run's")
