"""The optimizers against optax over 100 steps, bias correction by hand, and convergence."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim

from .trees import SMALL_SHAPES, assert_same_run, random_tree

RTOL = 1e-5
ATOL = 1e-7  # for entries that are ~0 in both


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("sgd", optim.sgd(0.05), optax.sgd(0.05)),
        ("sgd_schedule", optim.sgd(optim.exponential_decay(0.05, 0.97)),
         optax.sgd(optax.exponential_decay(0.05, 1, 0.97))),
        ("adam", optim.adam(1e-2), optax.adam(1e-2)),
        ("adam_settings", optim.adam(3e-3, b1=0.8, b2=0.99, eps=1e-6),
         optax.adam(3e-3, b1=0.8, b2=0.99, eps=1e-6)),
        ("adamw", optim.adamw(1e-2, weight_decay=0.1), optax.adamw(1e-2, weight_decay=0.1)),
        ("adamw_default", optim.adamw(1e-2), optax.adamw(1e-2)),
        # the course's EMA momentum with rate α is optax's summing momentum with rate α(1 − β)
        ("momentum", optim.momentum(0.05, 0.9), optax.sgd(0.05 * (1 - 0.9), momentum=0.9)),
        ("momentum_sum", optim.momentum(0.05, 0.8, exponential_average=False),
         optax.sgd(0.05, momentum=0.8)),
        # ε large enough that the two conventions give measurably different results
        ("rmsprop_eps_outside", optim.rmsprop(1e-2, eps=1e-2),
         optax.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=False)),
        ("rmsprop_eps_inside", optim.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=True),
         optax.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=True)),
        ("rmsprop_defaults", optim.rmsprop(1e-2), optax.rmsprop(1e-2, eps_in_sqrt=False)),
    ],
)
def test_matches_optax_over_100_steps(name, ours, theirs, tree_and_grads):
    assert_same_run(ours, theirs, tree_and_grads, rtol=RTOL, atol=ATOL, must_move=True)


@pytest.mark.parametrize(
    "ours, wrong_twin",
    [
        (optim.rmsprop(1e-2, eps=1e-2), optax.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=True)),
        (optim.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=True),
         optax.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=False)),
        (optim.momentum(0.05, 0.9), optax.sgd(0.05, momentum=0.9)),
        (optim.adamw(1e-2, weight_decay=0.1), optax.adam(1e-2)),
    ],
)
def test_comparison_detects_a_different_convention(ours, wrong_twin, tree_and_grads):
    with pytest.raises(AssertionError):
        assert_same_run(ours, wrong_twin, tree_and_grads, rtol=RTOL, atol=ATOL, must_move=True)


def test_rmsprop_default_puts_eps_outside_the_root():
    tx = optim.rmsprop(1.0, decay=0.5, eps=0.25)
    state = tx.init(jnp.zeros(()))
    updates, _ = tx.update(jnp.asarray(2.0), state)
    s = 0.5 * 4.0  # s = β·0 + (1 − β)·dW²
    np.testing.assert_allclose(updates, -2.0 / (np.sqrt(s) + 0.25), rtol=1e-6)
    tx_in = optim.rmsprop(1.0, decay=0.5, eps=0.25, eps_in_sqrt=True)
    updates, _ = tx_in.update(jnp.asarray(2.0), tx_in.init(jnp.zeros(())))
    np.testing.assert_allclose(updates, -2.0 / np.sqrt(s + 0.25), rtol=1e-6)


# --- bias correction, by hand ---------------------------------------------------------------

GRADS = [1.0, 2.0, -1.0]


def run_scalar(tx, grads):
    state = tx.init(jnp.zeros((), jnp.float32))
    out = []
    for g in grads:
        u, state = tx.update(jnp.asarray(g, jnp.float32), state, jnp.zeros(()))
        out.append(float(u))
    return out, state


def test_adam_bias_correction_first_three_steps():
    alpha, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    # t = 1: v = 0.1·1 = 0.1, s = 0.001·1 = 0.001;  v̂ = 0.1/0.1 = 1, ŝ = 0.001/0.001 = 1
    # t = 2: v = 0.09 + 0.2 = 0.29, s = 0.000999 + 0.004 = 0.004999
    #        v̂ = 0.29/0.19, ŝ = 0.004999/0.001999
    # t = 3: v = 0.261 − 0.1 = 0.161, s = 0.004994001 + 0.001 = 0.005994001
    #        v̂ = 0.161/0.271, ŝ = 0.005994001/0.002997001
    expected_hat = [(1.0, 1.0), (0.29 / 0.19, 0.004999 / 0.001999),
                    (0.161 / 0.271, 0.005994001 / 0.002997001)]
    expected = [-alpha * v / (np.sqrt(s) + eps) for v, s in expected_hat]
    got, state = run_scalar(optim.adam(alpha, b1, b2, eps), GRADS)
    # float32 rounds β₂ = 0.999 by 1.3e-8, which moves 1 − β₂ᵗ (≈ 1e-3) by ~1e-5 relative
    np.testing.assert_allclose(got, expected, rtol=2e-5)
    adam_state = state[0]
    assert adam_state.count.dtype == jnp.int32 and int(adam_state.count) == 3
    np.testing.assert_allclose(float(adam_state.mu), 0.161, rtol=1e-6)
    np.testing.assert_allclose(float(adam_state.nu), 0.005994001, rtol=1e-6)


def test_momentum_bias_correction_first_three_steps():
    alpha, beta = 0.1, 0.9
    # v: 0.1, 0.09 + 0.2 = 0.29, 0.261 − 0.1 = 0.161; divided by 1 − 0.9ᵗ = 0.1, 0.19, 0.271
    expected = [-alpha * 0.1 / 0.1, -alpha * 0.29 / 0.19, -alpha * 0.161 / 0.271]
    got, _ = run_scalar(optim.momentum(alpha, beta, bias_correction=True), GRADS)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # without correction the first step is only (1 − β) of the gradient
    got, _ = run_scalar(optim.momentum(alpha, beta), GRADS)
    np.testing.assert_allclose(got, [-alpha * 0.1, -alpha * 0.29, -alpha * 0.161], rtol=1e-6)
    # the summing form: v = 1, 0.9 + 2 = 2.9, 2.61 − 1 = 1.61
    got, _ = run_scalar(optim.momentum(alpha, beta, exponential_average=False), GRADS)
    np.testing.assert_allclose(got, [-alpha * 1.0, -alpha * 2.9, -alpha * 1.61], rtol=1e-6)


# --- convergence ----------------------------------------------------------------------------

CURVATURES = jnp.asarray([1.0, 4.0, 0.25, 2.0])
QUADRATIC_MINIMUM = jnp.asarray([1.0, -2.0, 0.5, 3.0])


def quadratic(w):
    """½ Σ aᵢ (wᵢ − cᵢ)², minimum 0 at w = c."""
    return 0.5 * jnp.sum(CURVATURES * (w - QUADRATIC_MINIMUM) ** 2)


def rosenbrock(w):
    """(1 − x)² + 100 (y − x²)², minimum 0 at (1, 1)."""
    x, y = w[0], w[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def minimize(tx, loss, w0, steps):
    @jax.jit
    def run(w):
        def body(carry, _):
            w, state = carry
            updates, state = tx.update(jax.grad(loss)(w), state, w)
            return (optim.apply_updates(w, updates), state), None

        (w, _), _ = jax.lax.scan(body, (w, tx.init(w)), None, length=steps)
        return w

    return run(w0)


CONVERGENCE = {
    # name: (quadratic optimizer, quadratic steps, rosenbrock optimizer, rosenbrock steps)
    "sgd": (optim.sgd(0.2), 300, optim.sgd(1e-3), 30_000),
    "momentum": (optim.momentum(0.2), 300, optim.momentum(1e-3, 0.9), 30_000),
    "rmsprop": (optim.rmsprop(optim.exponential_decay(0.05, 0.99)), 1000,
                optim.rmsprop(optim.exponential_decay(1e-2, 0.9995)), 30_000),
    "adam": (optim.adam(optim.exponential_decay(0.1, 0.995)), 2000,
             optim.adam(optim.exponential_decay(2e-2, 0.9998)), 30_000),
    "adamw": (optim.adamw(optim.exponential_decay(0.1, 0.995), weight_decay=0.0), 2000,
              optim.adamw(optim.exponential_decay(2e-2, 0.9998), weight_decay=0.0), 30_000),
}


@pytest.mark.parametrize("name", sorted(CONVERGENCE))
def test_converges_on_quadratic_and_rosenbrock(name):
    quad_tx, quad_steps, rosen_tx, rosen_steps = CONVERGENCE[name]
    w = minimize(quad_tx, quadratic, jnp.zeros(4), quad_steps)
    np.testing.assert_allclose(w, QUADRATIC_MINIMUM, atol=1e-3)
    w = minimize(rosen_tx, rosenbrock, jnp.asarray([-1.2, 1.0]), rosen_steps)
    np.testing.assert_allclose(w, [1.0, 1.0], atol=1e-2)
    assert float(rosenbrock(w)) < 1e-4


def test_adamw_decays_towards_zero_without_gradient():
    tx = optim.adamw(0.1, weight_decay=0.5)
    w = minimize(tx, lambda w: 0.0 * jnp.sum(w), jnp.asarray([2.0, -4.0]), 10)
    # zero gradient: v̂ = 0, so W := W − αλW = 0.95 W each step
    np.testing.assert_allclose(w, np.asarray([2.0, -4.0]) * 0.95**10, rtol=1e-5)


def test_works_with_optax_apply_updates_and_chain():
    params = {"w": jnp.ones(3), "b": jnp.zeros(())}
    grads = {"w": jnp.asarray([1.0, -1.0, 2.0]), "b": jnp.asarray(0.5)}
    tx = optim.adam(1e-3)
    updates, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    chex.assert_trees_all_close(new, optim.apply_updates(params, updates))
    mixed = optax.chain(optax.clip_by_global_norm(1.0), optim.adam(1e-3))
    ref = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    chex.assert_trees_all_close(
        mixed.update(grads, mixed.init(params), params)[0],
        ref.update(grads, ref.init(params), params)[0],
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.sgd(-1.0),
        lambda: optim.momentum(0.1, beta=1.0),
        lambda: optim.rmsprop(0.1, decay=-0.1),
        lambda: optim.adam(0.1, b2=1.5),
        lambda: optim.adam(0.1, eps=-1e-8),
        lambda: optim.adamw(0.1, weight_decay=-1.0),
        # RMSprop with β = 1 would keep s_dW at 0 forever
        lambda: optim.rmsprop(0.1, decay=1.0),
        # concrete arrays are checked entry by entry
        lambda: optim.adam(1e-3, b1=np.array([0.9, 1.5])),
        lambda: optim.sgd(jnp.array([0.1, -0.1])),
        lambda: optim.rmsprop(0.1, eps=np.array([[1e-8], [np.nan]])),
    ],
)
def test_bad_hyperparameters_raise(make):
    with pytest.raises(ValueError):
        make()


def test_in_range_hyperparameter_arrays_are_accepted():
    optim.adam(1e-3, b1=np.array([0.9, 0.5]), b2=jnp.array([0.999, 0.9]))
    optim.rmsprop(np.float32(0.1), decay=np.array([0.0, 0.99]))


# --- low-precision gradients with float32 params (mixed precision) ----------------------------

BF16_CASES = [
    ("adam", lambda: optim.adam(1e-2), lambda: optax.adam(1e-2)),
    ("rmsprop", lambda: optim.rmsprop(1e-2, eps=1e-2),
     lambda: optax.rmsprop(1e-2, eps=1e-2, eps_in_sqrt=False)),
    ("momentum", lambda: optim.momentum(0.05, 0.9),
     lambda: optax.sgd(0.05 * (1 - 0.9), momentum=0.9)),
]


@pytest.mark.parametrize("name, ours, theirs", BF16_CASES, ids=[c[0] for c in BF16_CASES])
def test_bfloat16_gradients_float32_params_in_a_scan_match_optax(name, ours, theirs,
                                                                 tree_and_grads):
    params, grads_seq = tree_and_grads
    grads_bf16 = jax.tree.map(lambda g: g.astype(jnp.bfloat16), grads_seq)
    # the state keeps float32 moments, so the scan carry has one type (this used to fail)
    final = assert_same_run(ours(), theirs(), (params, grads_bf16), rtol=2e-2, atol=1e-3)
    chex.assert_trees_all_equal_dtypes(final, params)
    state = ours().init(params)
    # (dtypes only: eval_shape traces the update without compiling it)
    _, new_state = jax.eval_shape(ours().update, jax.tree.map(lambda g: g[0], grads_bf16), state,
                                  params)
    chex.assert_trees_all_equal_dtypes(new_state, state)


@pytest.mark.parametrize("name, ours, theirs", BF16_CASES, ids=[c[0] for c in BF16_CASES])
def test_updates_have_the_gradients_dtype_with_and_without_injected_hyperparams(name, ours,
                                                                                 theirs):
    del theirs
    factory = {"adam": optim.adam, "rmsprop": optim.rmsprop, "momentum": optim.momentum}[name]
    args = {"adam": (1e-2,), "rmsprop": (1e-2,), "momentum": (0.05, 0.9)}[name]
    params = {"w": jnp.ones((3, 2), jnp.float32), "b": jnp.zeros((2,), jnp.float32)}
    grads = {"w": jnp.full((3, 2), 0.5, jnp.bfloat16), "b": jnp.full((2,), -0.25, jnp.bfloat16)}
    for tx in (factory(*args), optim.inject_hyperparams(factory)(*args)):
        updates, state = jax.jit(tx.update)(grads, tx.init(params), params)
        assert all(u.dtype == jnp.bfloat16 for u in jax.tree.leaves(updates)), name
        chex.assert_trees_all_equal_dtypes(state, tx.init(params))


# --- complex parameters: |dW|² = conj(dW)·dW, as in optax -------------------------------------

COMPLEX_CASES = [
    ("adam", lambda: optim.adam(1e-2), lambda: optax.adam(1e-2)),
    ("adamw", lambda: optim.adamw(1e-2, weight_decay=0.1),
     lambda: optax.adamw(1e-2, weight_decay=0.1)),
    ("rmsprop_eps_outside", lambda: optim.rmsprop(1e-2, eps=1e-3),
     lambda: optax.rmsprop(1e-2, eps=1e-3, eps_in_sqrt=False)),
    ("rmsprop_eps_inside", lambda: optim.rmsprop(1e-2, eps=1e-3, eps_in_sqrt=True),
     lambda: optax.rmsprop(1e-2, eps=1e-3)),
    ("clipped_momentum", lambda: optim.chain(optim.clip_by_global_norm(1.0),
                                             optim.momentum(0.05, 0.9)),
     lambda: optax.chain(optax.clip_by_global_norm(1.0),
                         optax.sgd(0.05 * (1 - 0.9), momentum=0.9))),
]


@pytest.mark.parametrize("name, ours, theirs", COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_parameters_match_optax(name, ours, theirs):
    params = random_tree(7, dtype=np.complex64, shapes=SMALL_SHAPES)
    grads_seq = random_tree(8, scale=0.5, steps=20, dtype=np.complex64, shapes=SMALL_SHAPES)
    assert_same_run(ours(), theirs(), (params, grads_seq), rtol=1e-5, atol=1e-7, must_move=True)
    # the moments keep the params' complex dtype, as optax's do (shapes only: nothing compiles)
    first_grads = jax.tree.map(lambda g: g[0], grads_seq)

    def moment_dtypes(tx):
        state = jax.eval_shape(lambda: tx.update(first_grads, tx.init(params), params)[1])
        return [x.dtype for x in jax.tree.leaves(state) if x.dtype != jnp.int32]  # no counts

    assert moment_dtypes(ours()) == moment_dtypes(theirs())
    assert all(dtype == jnp.complex64 for dtype in moment_dtypes(ours()))


def test_complex_second_moment_is_the_squared_magnitude():
    tx = optim.scale_by_adam(b1=0.0, b2=0.5, eps=0.0)
    g = jnp.asarray([3.0 + 4.0j], jnp.complex64)  # |g|² = 25, while g·g = −7 + 24j
    updates, state = tx.update(g, tx.init(jnp.zeros(1, jnp.complex64)))
    np.testing.assert_allclose(state.nu, [0.5 * 25.0], rtol=1e-6)
    np.testing.assert_allclose(updates, g / 5.0, rtol=1e-6)  # v̂ / √ŝ = g / |g|
