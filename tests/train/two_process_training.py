"""A short data-parallel training run, as a program: one process of a multi-process test.

``python two_process_training.py OUT.npz`` joins the run described by the ``DLCOURSE_*``
environment (see :mod:`dlcourse.train.distributed`), trains on a mesh over every device of every
process, and process 0 writes the metrics to ``OUT.npz``. ``build_trainable`` is shared with the
single-process side of the test so both train exactly the same thing.
"""

import sys

import numpy as np


def tiny_splits():
    from dlcourse.data import Splits

    rng = np.random.default_rng(7)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2] ** 2 > 0).astype(np.int32)
    return Splits(x[:72], y[:72], x[72:96], y[72:96], x[96:], y[96:], 2)


def build_trainable(mesh, batch_norm=True):
    from dlcourse import models
    from dlcourse.train import supervised

    model = models.MLP((16, 8), 2, batch_norm=batch_norm)
    return supervised(model, tiny_splits(), optimizer="adam", epochs=3, batch_size=16,
                      hparams={"learning_rate": 0.02, "l2": 0.5}, mesh=mesh)


def main(out_path):
    from dlcourse.train import distributed

    joined = distributed.initialize()
    import jax

    from dlcourse.train import data_mesh

    trainable = build_trainable(data_mesh())
    metrics = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(3))
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    if distributed.is_main_process():
        np.savez(out_path, joined=joined, processes=jax.process_count(),
                 devices=jax.device_count(), **metrics)


if __name__ == "__main__":
    main(sys.argv[1])
