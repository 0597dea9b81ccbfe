"""Flax Linen models. Inputs are rows of examples ``[batch, features]``; outputs are logits.

Every model is called the same way so a training loop can treat them alike::

    model.apply(variables, x, train=..., keep_prob=..., mask=...,
                rngs={'dropout': key}, mutable=['batch_stats'])

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(['LogisticRegression'], "logistic"),
    **dict.fromkeys(['MLP'], "mlp"),
    **dict.fromkeys(['ShallowNet'], "shallow"),
})
