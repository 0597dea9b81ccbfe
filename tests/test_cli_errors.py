"""Ctrl-C while the garbage collector runs a callback: deferred, not lost (dlcourse.cli.errors)."""
import gc
import sys
import time

import pytest

from dlcourse.cli import errors


def test_sigint_raises_outside_a_collection_and_is_deferred_inside_one(monkeypatch):
    later = []
    monkeypatch.setattr(errors, "_raise_sigint_later", lambda: later.append("again"))
    with pytest.raises(KeyboardInterrupt):
        errors._on_sigint(2, sys._getframe())
    assert later == []

    seen = []

    def callback(phase, info):            # a collector callback, as JAX registers one
        if phase == "start" and not seen:
            seen.append(errors._on_sigint(2, sys._getframe()))   # returns instead of raising

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    for _ in range(100):                  # the helper thread re-raises shortly
        if later:
            break
        time.sleep(0.01)
    assert seen == [None] and later == ["again"]
