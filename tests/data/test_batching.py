"""Mini-batching: every example once per epoch, explicit padding/dropping, jittable."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.data.batching import num_steps, shuffled_batches


def _data(m, features=3):
    x = np.arange(m * features, dtype=np.float32).reshape(m, features)
    y = np.arange(m, dtype=np.int32)  # y identifies the row
    return x, y


@pytest.mark.parametrize("m,batch,drop,expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3), (5, 8, False, 1),
    (1, 1, True, 1)])
def test_num_steps(m, batch, drop, expected):
    assert num_steps(m, batch, drop) == expected


@pytest.mark.parametrize("m,batch,drop", [(5, 0, False), (5, -2, False), (0, 2, False), (5, 8, True)])
def test_num_steps_rejects_bad_sizes(m, batch, drop):
    with pytest.raises(ValueError, match=str(batch) if batch < 1 or drop else "m=0"):
        num_steps(m, batch, drop)


def test_padded_epoch_covers_every_example_once_with_mask():
    x, y = _data(10)
    batches = shuffled_batches(jax.random.key(0), x, y, 4)
    assert batches.x.shape == (3, 4, 3) and batches.y.shape == (3, 4) and batches.mask.shape == (3, 4)
    mask = np.asarray(batches.mask).ravel()
    np.testing.assert_array_equal(mask, [1.0] * 10 + [0.0] * 2)
    real = np.asarray(batches.y).ravel()[mask == 1]
    np.testing.assert_array_equal(np.sort(real), np.arange(10))
    # x rows travel with their labels.
    np.testing.assert_array_equal(np.asarray(batches.x).reshape(-1, 3), x[np.asarray(batches.y).ravel()])
    # Padding repeats real examples (the start of the permutation).
    np.testing.assert_array_equal(np.asarray(batches.y).ravel()[10:], real[:2])


def test_drop_remainder_leaves_out_last_partial_batch():
    x, y = _data(10)
    batches = shuffled_batches(jax.random.key(1), x, y, 4, drop_remainder=True)
    assert batches.y.shape == (2, 4)
    np.testing.assert_array_equal(np.asarray(batches.mask), np.ones((2, 4), np.float32))
    assert len(set(np.asarray(batches.y).ravel().tolist())) == 8


def test_batch_larger_than_data_is_one_padded_batch():
    x, y = _data(5)
    batches = shuffled_batches(jax.random.key(2), x, y, 12)
    assert batches.y.shape == (1, 12)
    assert float(batches.mask.sum()) == 5.0
    assert sorted(np.asarray(batches.y)[0, :5].tolist()) == list(range(5))


def test_shuffle_depends_on_key_and_is_deterministic():
    x, y = _data(32)
    a = shuffled_batches(jax.random.key(3), x, y, 8)
    b = shuffled_batches(jax.random.key(3), x, y, 8)
    c = shuffled_batches(jax.random.key(4), x, y, 8)
    chex.assert_trees_all_equal(a, b)
    assert not np.array_equal(np.asarray(a.y), np.asarray(c.y))
    assert not np.array_equal(np.asarray(a.y).ravel(), np.arange(32))


def test_jittable_and_no_retrace_for_new_keys():
    x, y = _data(10)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def epoch_batches(key):
        return shuffled_batches(key, x, y, 3)

    eager = shuffled_batches(jax.random.key(5), x, y, 3)
    jitted = epoch_batches(jax.random.key(5))
    epoch_batches(jax.random.key(6))
    chex.assert_trees_all_equal(eager, jitted)


def test_mismatched_rows_raise():
    with pytest.raises(ValueError, match="same number of rows"):
        shuffled_batches(jax.random.key(0), jnp.zeros((4, 2)), jnp.zeros((5,)), 2)


@pytest.mark.parametrize("batch_size", [np.int64(4), np.int32(4), np.array(4)[()]])
def test_numpy_integer_batch_sizes_are_accepted(batch_size):
    x = jnp.arange(10.0)[:, None]
    y = jnp.arange(10)
    assert num_steps(10, batch_size) == 3
    ours = shuffled_batches(jax.random.key(0), x, y, batch_size)
    reference = shuffled_batches(jax.random.key(0), x, y, 4)
    chex.assert_trees_all_equal(ours, reference)
    with pytest.raises(ValueError, match="batch_size"):
        num_steps(10, np.float64(4.0))
