"""Regenerate the README gallery from the demos themselves.

Run from the repository root (needs matplotlib: ``pip install -e ".[plot]"``)::

    python docs/make_gallery.py

Each picture is made by the command printed beside it in the README, on the
numpy backend with the demos' default seed, so the pictures are reproducible.
"""

from __future__ import annotations

import pathlib
import shlex
import subprocess
import sys

GALLERY = pathlib.Path("docs/gallery")

#: The README's gallery: picture file and the command that draws it.
COMMANDS = {
    "sin-regression.png": "bpnn demo sin-regression --backend numpy --plot {path}",
    "sin-classification.png": "bpnn demo sin-classification --backend numpy --plot {path}",
    "vanishing-gradient.png": "bpnn demo vanishing-gradient --backend numpy --plot {path}",
}


def main():
    GALLERY.mkdir(parents=True, exist_ok=True)
    for name, command in COMMANDS.items():
        line = command.format(path=(GALLERY / name).as_posix())
        print(f"$ {line}", flush=True)
        # "bpnn" as a module of this interpreter, so the script works in any venv
        argv = [sys.executable, "-m", "bpnn", *shlex.split(line)[1:]]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
