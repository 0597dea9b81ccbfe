import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from dlcourse import metrics


def test_multiclass_accuracy_error_rate_and_confusion():
    logits = jax.random.normal(jax.random.key(0), (50, 4))
    labels = jax.random.randint(jax.random.key(1), (50,), 0, 4)
    predicted = np.argmax(np.asarray(logits), axis=1)
    expected = np.mean(predicted == np.asarray(labels))
    assert float(metrics.accuracy(logits, labels)) == pytest.approx(expected)
    assert float(metrics.error_rate(logits, labels)) == pytest.approx(1 - expected)
    assert float(metrics.accuracy(logits, jax.nn.one_hot(labels, 4))) == pytest.approx(expected)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(logits, labels),
        sklearn_confusion_matrix(np.asarray(labels), predicted, labels=range(4)),
    )


def test_binary_accuracy_from_logits():
    logits = jnp.array([2.0, -1.0, 0.5, -3.0, 0.1])
    labels = jnp.array([1, 0, 0, 0, 1])  # 4 of 5 right
    for lg in (logits, logits[:, None]):
        for lb in (labels, labels.astype(jnp.float32), labels[:, None]):
            assert float(metrics.accuracy(lg, lb)) == pytest.approx(0.8)
    np.testing.assert_array_equal(metrics.confusion_matrix(logits, labels), [[2, 1], [0, 2]])


def test_mask():
    logits = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    labels = jnp.array([0, 1, 1, 1])
    mask = jnp.array([1, 1, 0, 0])
    assert float(metrics.accuracy(logits, labels, mask)) == 1.0
    assert float(metrics.accuracy(logits, labels)) == 0.5
    np.testing.assert_array_equal(metrics.confusion_matrix(logits, labels, mask), [[1, 0], [0, 1]])
    jitted = jax.jit(metrics.accuracy)(logits, labels, mask)
    assert float(jitted) == 1.0


def test_shape_errors():
    with pytest.raises(ValueError, match="labels"):
        metrics.accuracy(jnp.zeros((4, 3)), jnp.zeros((5,), jnp.int32))
    with pytest.raises(ValueError, match="mask"):
        metrics.accuracy(jnp.zeros((4, 3)), jnp.zeros((4,), jnp.int32), jnp.ones(3))


@pytest.mark.parametrize("logits", [jnp.ones((4, 3)), jnp.ones((4,))], ids=["multiclass", "binary"])
def test_all_zero_mask_gives_zero_accuracy_and_zero_error_rate(logits):
    labels = jnp.zeros((4,), jnp.int32)
    mask = jnp.zeros(4)
    assert float(metrics.accuracy(logits, labels, mask)) == 0.0
    assert float(metrics.error_rate(logits, labels, mask)) == 0.0
    assert float(jax.jit(metrics.error_rate)(logits, labels, mask)) == 0.0
    # a partly padded batch still counts only its real examples
    partial = jnp.array([1.0, 1.0, 0.0, 0.0])
    labels = jnp.array([0, 1, 1, 1])
    expected = np.mean(np.asarray(metrics.predicted_classes(logits))[:2] != np.array([0, 1]))
    assert float(metrics.error_rate(logits, labels, partial)) == pytest.approx(expected)
