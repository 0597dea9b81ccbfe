"""Training core: the experiment contract, the jitted epoch loop, devices, checkpoints, logging."""

from dlcourse.train.trainable import Trainable, summarize

__all__ = ["Trainable", "summarize"]
