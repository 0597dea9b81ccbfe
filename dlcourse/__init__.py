"""dlcourse: the deep-learning course as pure JAX functions and Flax modules.

Import by idea: ``dlcourse.optim``, ``dlcourse.nn``, ``dlcourse.models``, ``dlcourse.data``,
``dlcourse.train``, ``dlcourse.sweep``, ``dlcourse.strategy``.
"""

__version__ = "0.1.0"
