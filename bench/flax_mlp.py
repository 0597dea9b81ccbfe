"""The plain Flax network the benchmarks' hand-written baselines train (no dlcourse code)."""

import flax.linen as nn


class FlaxMLP(nn.Module):
    """``[Dense → ReLU] × layers → Dense`` with He (untruncated normal) kernels and zero biases."""

    hidden: int
    layers: int
    classes: int

    @nn.compact
    def __call__(self, x):
        he = nn.initializers.variance_scaling(2.0, "fan_in", "normal")
        for _ in range(self.layers):
            x = nn.relu(nn.Dense(self.hidden, kernel_init=he)(x))
        return nn.Dense(self.classes, kernel_init=he)(x)
