"""Pieces the commands share: argument types and how scores are printed."""

from __future__ import annotations

import argparse
import math


def positive_ints(text):
    """``"64,32"`` -> ``[64, 32]`` (an argparse type)."""
    try:  # an empty part (64,,3 or a trailing comma) is a typo, not a layer to skip
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive integers like 64,32, got {text!r}")
    return values


def column_names(text):
    """``"id,notes"`` -> ``["id", "notes"]`` (an argparse type); an empty name is refused."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names like id,notes, got {text!r}")
    return names


def _number(text, convert, acceptable, expected):
    """``convert(text)`` when ``acceptable`` of it, else argparse's error naming ``expected``."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not acceptable(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    """``"100"`` -> ``100``: a positive integer (an argparse type)."""
    return _number(text, int, lambda value: value >= 1, "a positive integer")


def non_negative_float(text):
    """``"0.01"`` -> ``0.01``: a finite number >= 0 (an argparse type)."""
    return _number(text, float, lambda value: math.isfinite(value) and value >= 0,
                   "a finite number >= 0")


def parameter_count(sizes):
    """The weights and biases of dense layers ``sizes[0] -> sizes[1] -> ...``."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def print_scores(scores, say=print, target=None):
    """The scores of :meth:`TabularModel.evaluate`, one line (and the confusion matrix);
    a regression's RMSE and MAE are in the units of the ``target`` column."""
    if "r2" in scores:
        units = f"in the units of {target!r}" if target else "in the target's units"
        say(f"R² {scores['r2']:.4f}, RMSE {scores['rmse']:.6g}, MAE {scores['mae']:.6g} "
            f"({units}; {scores['n']} rows)")
        return
    say(f"accuracy {scores['accuracy']:.4f}, log loss {scores['log_loss']:.6g} "
        f"({scores['n']} rows)")
    labels = [str(label) for label in scores["classes"]]
    width = max(6, *(len(label) for label in labels))
    counts = max((len(str(c)) for row in scores["confusion"] for c in row), default=1)
    width = max(width, counts)
    say("confusion matrix (rows: true, columns: predicted)")
    say(" " * width + " " + " ".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, scores["confusion"]):
        say(f"{label:>{width}} " + " ".join(f"{count:>{width}}" for count in row))
