"""Triplet loss and in-batch mining against explicit loops over every triplet (NumPy)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import faces


def random_batch(seed, batch=12, dim=5, identities=3):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(batch, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = rng.integers(identities, size=batch).astype(np.int32)
    return vectors, labels


def distance(u, v):
    return float(np.sum((np.asarray(u, np.float64) - np.asarray(v, np.float64)) ** 2))


def reference_terms(vectors, labels, valid, margin, mining):
    """Per-anchor terms by loops over every (anchor, positive, negative)."""
    batch = len(labels)
    terms = np.zeros(batch)
    for a in range(batch):
        if not valid[a]:
            continue
        positives = [p for p in range(batch) if p != a and valid[p] and labels[p] == labels[a]]
        negatives = [n for n in range(batch) if valid[n] and labels[n] != labels[a]]
        if not positives or not negatives:
            continue
        if mining == "batch_hard":
            d_ap = max(distance(vectors[a], vectors[p]) for p in positives)
            d_an = min(distance(vectors[a], vectors[n]) for n in negatives)
            terms[a] = max(d_ap - d_an + margin, 0.0)
            continue
        losses = []
        for p in positives:
            d_ap = distance(vectors[a], vectors[p])
            farther = [distance(vectors[a], vectors[n]) for n in negatives
                       if distance(vectors[a], vectors[n]) > d_ap]
            d_an = min(farther) if farther else max(distance(vectors[a], vectors[n]) for n in negatives)
            losses.append(max(d_ap - d_an + margin, 0.0))
        terms[a] = np.mean(losses)
    return terms


@jax.jit
def mined_terms(vectors, mask, labels):
    """``{mining: terms}`` with margin 0.5, for embeddings with a mask."""
    outputs = faces.MaskedEmbeddings(vectors, mask)
    return {mining: faces.triplet_terms(mining, margin=0.5)(outputs, labels) for mining in faces.MINING}


@pytest.mark.parametrize("seed", [0, 1])
def test_mined_terms_equal_loops_over_every_triplet(seed):
    vectors, labels = random_batch(seed)
    mask = np.ones(len(labels), np.float32)
    mask[-2:] = 0.0                                # padding rows
    labels[3] = -1                                 # a row left out by its label
    labels[4] = 7                                  # an identity with one row: no positive
    valid = (labels >= 0) & (mask > 0)
    got = mined_terms(vectors, mask, labels)
    for mining in faces.MINING:
        expected = reference_terms(vectors, labels, valid, 0.5, mining)
        chex.assert_trees_all_close(np.asarray(got[mining]), expected, atol=1e-5)
        assert got[mining][4] == 0.0 and got[mining][3] == 0.0
    assert np.count_nonzero(expected) > 3          # some triplets violate the margin


def test_semi_hard_picks_the_closest_farther_negative_and_falls_back_to_the_farthest():
    # 1-d embeddings: anchor at 0, positive at 1 (d = 1); negatives at 1.2 (d = 1.44) and 2 (d = 4).
    vectors = np.asarray([[0.0], [1.0], [1.2], [2.0]], np.float32)
    terms = mined_terms(vectors, np.ones(4, np.float32), np.asarray([0, 0, 1, 1], np.int32))
    np.testing.assert_allclose(terms["semi_hard"][0], 1.0 - 1.44 + 0.5, rtol=1e-6)
    # Anchor 1: positive 0 at d = 1; negatives at d = 0.04 and 1: none farther, so the farthest (1).
    np.testing.assert_allclose(terms["semi_hard"][1], 0.5, rtol=1e-6)
    np.testing.assert_allclose(terms["batch_hard"][1], 1.0 - 0.04 + 0.5, rtol=1e-5)


def test_a_padding_row_changes_no_other_term_and_gets_no_gradient():
    vectors, labels = random_batch(3)
    mask = np.ones(len(labels), np.float32)
    mask[0] = 0.0
    moved = vectors.copy()
    moved[0] = -moved[0]
    chex.assert_trees_all_close(mined_terms(vectors, mask, labels), mined_terms(moved, mask, labels))
    total = lambda v: sum(jnp.sum(t) for t in mined_terms(v, mask, labels).values())  # noqa: E731
    grads = jax.jit(jax.grad(total))(vectors)
    assert np.all(np.isfinite(grads)) and np.all(grads[0] == 0) and np.any(grads[1:] != 0)


def test_plain_triplet_loss_is_the_course_formula():
    anchor, positive, negative = jnp.asarray([[0.0, 0.0]]), jnp.asarray([[1.0, 0.0]]), jnp.asarray([[0.0, 2.0]])
    np.testing.assert_allclose(faces.triplet_loss(anchor, positive, negative, 0.2), [0.0])      # 1 − 4 + 0.2 < 0
    np.testing.assert_allclose(faces.triplet_loss(anchor, negative, positive, 0.2), [3.2])      # 4 − 1 + 0.2


def test_nearest_neighbour_accuracy_counts_rows_with_a_partner():
    vectors = jnp.asarray([[0.0], [0.1], [1.0], [1.1], [5.0]])
    labels = jnp.asarray([0, 0, 1, 0, 2])   # row 3's nearest is row 2 (another identity); row 4 has no partner
    metric = faces.NEAREST_NEIGHBOUR_ACCURACY
    statistics = jax.jit(metric.statistics)
    stats = statistics(vectors, labels, jnp.ones(5))
    assert float(stats["count"]) == 3.0 and float(stats["hits"]) == 2.0   # rows 0, 1 right; row 3 wrong
    # Row 2 is masked out: row 3's nearest becomes row 1 (same identity).
    stats = statistics(vectors, labels, jnp.asarray([1.0, 1.0, 0.0, 1.0, 1.0]))
    assert float(metric.value(stats)) == 1.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mining must be one of"):
        faces.triplet_terms("hardest")
    with pytest.raises(ValueError, match="labels must have shape"):
        faces.batch_hard_triplet_terms(jnp.zeros((4, 3)), jnp.zeros((5,), jnp.int32))
