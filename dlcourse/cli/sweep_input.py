"""What launch.py checks before it writes anything: flags, the workdir, memory, structural values.

Each check raises :class:`~dlcourse.cli.errors.UsageError` with one line naming what is wrong, so a
sweep that cannot run is refused before its workdir exists.
"""

from __future__ import annotations

import math
import os

from dlcourse.cli.errors import UsageError
from dlcourse.cli.experiments import Experiment, call_build

__all__ = ["check_flags", "check_workdir", "planned_trials", "check_record_memory", "check_structural_values",
           "RECORD_MEMORY_FRACTION"]

#: Share of physical memory the trial records of one sweep may take.
RECORD_MEMORY_FRACTION = 0.5


def check_flags(values) -> None:
    """launch.py's numeric flags, the search method and ``--human_error`` within their ranges."""
    from dlcourse.sweep.search import SEARCH_METHODS

    checks = [
        (values.trials >= 1, f"--trials must be >= 1, got {values.trials}"),
        (values.rounds >= 1, f"--rounds must be >= 1, got {values.rounds}"),
        (not (values.trials == 1 and (values.num_processes or 1) > 1),
         "--trials=1 (babysitting one model with checkpoints) runs in one process; drop --num_processes "
         "or sweep more trials"),
        (values.chunk is None or values.chunk >= 1, f"--chunk must be >= 1, got {values.chunk}"),
        (0 <= values.seed < 2 ** 32, f"--seed must be in [0, 2**32), got {values.seed}"),
        (values.trial_id >= 0, f"--trial_id must be >= 0, got {values.trial_id}"),
        (values.trial_id + values.trials * values.rounds <= 2 ** 32,
         f"--trial_id={values.trial_id} + --trials x --rounds ({values.trials * values.rounds}) exceeds 2**32: "
         f"trial ids must fit in 32 bits"),
        (values.search in SEARCH_METHODS, f"--search must be one of {', '.join(SEARCH_METHODS)}, got "
                                          f"{values.search!r}"),
        (values.human_error is None or 0 <= values.human_error <= 1,
         f"--human_error must be a fraction in [0, 1], got {values.human_error}"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def check_workdir(workdir: str) -> None:
    """The workdir is a folder or can be made one: no regular file on its path."""
    path = os.path.abspath(workdir)
    while True:
        if os.path.exists(path):
            if not os.path.isdir(path):
                what = "is" if path == os.path.abspath(workdir) else f"is inside {path}, which is"
                raise UsageError(f"--workdir={workdir} {what} a file, not a directory")
            return
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def planned_trials(spaces, search: str, trials: int, rounds: int) -> int:
    """How many trials the sweep runs: ``trials`` per round (a grid: its points) times ``rounds``."""
    from dlcourse.sweep.search import grid_shape

    per_round = math.prod(grid_shape(spaces, trials)) if search == "grid" and spaces else trials
    return per_round * rounds


def check_record_memory(total: int, trainable) -> None:
    """Refuses a sweep whose records (kept in memory while it runs) would not fit."""
    curves = 2 + 2 * len(trainable.metrics) + 1
    per_record = 3 * (2048 + 32 * curves * trainable.epochs)   # JSON text, and Python's objects
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    budget = RECORD_MEMORY_FRACTION * physical
    if total * per_record > budget:
        raise UsageError(f"{total} trials would keep about {total * per_record / 1e9:.3g} GB of records in memory "
                         f"(this machine has {physical / 1e9:.3g} GB); at most {int(budget // per_record)} trials "
                         f"fit: lower --trials or --rounds")


def check_structural_values(experiment: Experiment, config, structural_spaces) -> None:
    """Builds the experiment with each structural value of the spec (every option of a choice,
    both ends of an integer range), so a value the builder rejects is refused before anything
    is written."""
    from dlcourse.sweep import Choice, IntRange, structural_config

    for key, space in structural_spaces.items():
        options = list(space.options) if isinstance(space, Choice) else (
            [space.low, space.high] if isinstance(space, IntRange) else [])
        for value in options:
            if value == config[key]:
                continue  # the config's own value was built already
            try:
                call_build(experiment.name, experiment.build, structural_config(config, {key: value}))
            except UsageError as error:
                raise UsageError(f"--sweep: {key}={value} ({space.spec()}) cannot be built: {error}") from None
