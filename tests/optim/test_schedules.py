"""Schedules against their formulas, the course's table, and optax's twins."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim

T = np.arange(0, 50)


def evaluate(schedule, counts=T):
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(counts, jnp.int32)))


def test_inverse_time_decay_reproduces_the_course_table():
    schedule = optim.inverse_time_decay(0.2, decay_rate=1.0)
    np.testing.assert_allclose(evaluate(schedule, [1, 2, 3, 4]), [0.1, 0.0667, 0.05, 0.04],
                               atol=5e-5)
    np.testing.assert_allclose(evaluate(schedule, [0]), [0.2], rtol=1e-7)


def test_inverse_time_decay_with_epochs_of_steps():
    steps_per_epoch = 10
    smooth = optim.inverse_time_decay(0.2, 1.0, transition_steps=steps_per_epoch)
    stairs = optim.inverse_time_decay(0.2, 1.0, steps_per_epoch, staircase=True)
    np.testing.assert_allclose(evaluate(smooth), 0.2 / (1 + T / steps_per_epoch), rtol=1e-6)
    np.testing.assert_allclose(evaluate(stairs), 0.2 / (1 + T // steps_per_epoch), rtol=1e-6)
    # with counts from 0, the table's value for epoch k starts after k full epochs
    np.testing.assert_allclose(evaluate(stairs, [10, 20, 30, 40]), [0.1, 0.2 / 3, 0.05, 0.04],
                               rtol=1e-6)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_matches_formula_and_optax(staircase):
    ours = optim.exponential_decay(0.1, 0.95, transition_steps=7, staircase=staircase)
    p = T // 7 if staircase else T / 7
    np.testing.assert_allclose(evaluate(ours), 0.1 * 0.95**p, rtol=1e-6)
    theirs = optax.exponential_decay(0.1, transition_steps=7, decay_rate=0.95, staircase=staircase)
    np.testing.assert_allclose(evaluate(ours), evaluate(theirs), rtol=1e-6)


def test_inverse_sqrt_decay_formula_and_epoch_zero():
    ours = optim.inverse_sqrt_decay(0.2, scale=0.5, transition_steps=5)
    p = T / 5
    expected = 0.5 * 0.2 / np.sqrt(np.maximum(p, 1.0))
    got = evaluate(ours)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert np.all(np.isfinite(got))
    assert got[0] == pytest.approx(0.1)  # p = 0: k·α₀, no division by zero
    np.testing.assert_allclose(evaluate(ours, [5, 20, 45]), [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    stairs = optim.inverse_sqrt_decay(0.2, transition_steps=5, staircase=True)
    np.testing.assert_allclose(evaluate(stairs), 0.2 / np.sqrt(np.maximum(T // 5, 1)), rtol=1e-6)


def test_piecewise_constant_matches_formula_and_optax():
    ours = optim.piecewise_constant([10, 25, 40], [0.1, 0.05, 0.01, 0.001])
    expected = np.select([T < 10, T < 25, T < 40], [0.1, 0.05, 0.01], 0.001)
    np.testing.assert_allclose(evaluate(ours), expected, rtol=1e-7)
    theirs = optax.piecewise_constant_schedule(0.1, {10: 0.5, 25: 0.2, 40: 0.1})
    np.testing.assert_allclose(evaluate(ours), evaluate(theirs), rtol=1e-6)
    assert float(ours(jnp.asarray(9))) == pytest.approx(0.1)
    assert float(ours(jnp.asarray(10))) == pytest.approx(0.05)  # changes *at* the boundary


def test_constant_schedule():
    np.testing.assert_allclose(evaluate(optim.constant_schedule(0.3)), np.full(T.shape, 0.3))


def test_schedule_is_evaluated_at_updates_already_applied():
    """The first update uses schedule(0), as in optax."""
    schedule = optim.inverse_time_decay(0.2, 1.0)
    tx, ref = optim.sgd(schedule), optax.sgd(schedule)
    w = jnp.zeros(())
    state, ref_state = tx.init(w), ref.init(w)
    for t in range(4):
        u, state = tx.update(jnp.asarray(1.0), state)
        r, ref_state = ref.update(jnp.asarray(1.0), ref_state)
        assert float(u) == pytest.approx(-0.2 / (1 + t))
        assert float(u) == pytest.approx(float(r))
    assert state.count.dtype == jnp.int32 and int(state.count) == 4


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.piecewise_constant([10, 5], [1.0, 0.5, 0.1]),
        lambda: optim.piecewise_constant([10], [1.0]),
        lambda: optim.inverse_time_decay(0.1, 1.0, transition_steps=0),
        lambda: optim.exponential_decay(0.1, 0.9, transition_steps=2.5),
        lambda: optim.inverse_time_decay(0.1, -1.0),
    ],
)
def test_bad_arguments_raise(make):
    with pytest.raises(ValueError):
        make()
