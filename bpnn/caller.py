"""Warnings attributed to the user's line, however deep inside bpnn they are raised."""

from __future__ import annotations

import os
import sys
import warnings

#: Where bpnn's own modules live (the warnings come from the estimators and training,
#: all under the package's folder).
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn`` with the first frame outside bpnn as the warning's location.

    What Python 3.12's ``skip_file_prefixes`` does, on every supported Python: the
    location does not depend on how many of bpnn's calls sit between the user's call
    and the warning, so moving code inside bpnn cannot point warnings at bpnn itself.
    """
    frame, level = sys._getframe(1), 2  # level 2: warn's caller
    while frame is not None and _inside_bpnn(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _inside_bpnn(filename):
    return os.path.abspath(filename).startswith(_OWN)
