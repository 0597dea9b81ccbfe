"""Flax Linen models. Inputs are rows of examples ``[batch, features]``; outputs are logits.

Every model is called the same way so a training loop can treat them alike::

    model.apply(variables, x, train=..., keep_prob=..., mask=...,
                rngs={'dropout': key}, mutable=['batch_stats'])
"""

from dlcourse.models.logistic import LogisticRegression
from dlcourse.models.mlp import MLP
from dlcourse.models.shallow import ShallowNet

__all__ = ["LogisticRegression", "MLP", "ShallowNet"]
