"""ROC, AUC, equal-error rate and the dev threshold against scikit-learn and brute force; pairs."""

import jax
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from dlcourse import faces


@pytest.fixture(scope="module")
def figures_of():
    @jax.jit
    def figures(distances, same):
        curve = faces.roc_curve(distances, same)
        return curve, faces.roc_auc(curve), faces.equal_error_rate(curve), faces.best_threshold(distances, same)

    return figures


def scored_pairs(seed, n=60, ties=False):
    rng = np.random.default_rng(seed)
    same = (rng.random(n) < 0.4).astype(np.int32)
    distances = rng.normal(size=n) + 1.5 * (1 - same)
    if ties:
        distances = np.round(distances, 0)          # many tied distances across both kinds
    return distances.astype(np.float32), same


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
def test_roc_points_and_auc_equal_sklearn_on_scores_minus_d(figures_of, seed, ties):
    distances, same = scored_pairs(seed, ties=ties)
    curve, auc, _, _ = figures_of(distances, same)
    fpr, tpr, _ = sklearn_roc_curve(same, -distances, drop_intermediate=False)
    ours = sorted(set(zip(np.round(np.asarray(curve.false_positive_rate, np.float64), 6),
                          np.round(np.asarray(curve.true_positive_rate, np.float64), 6))))
    theirs = sorted(set(zip(np.round(fpr, 6), np.round(tpr, 6))))
    assert ours == theirs
    np.testing.assert_allclose(float(auc), roc_auc_score(same, -distances), rtol=1e-6)


@pytest.mark.parametrize("seed, ties", [(3, False), (4, True)])
def test_best_threshold_maximizes_accuracy_over_every_cut(figures_of, seed, ties):
    distances, same = scored_pairs(seed, ties=ties)
    *_, chosen = figures_of(distances, same)
    cuts = np.concatenate([[-np.inf], np.unique(distances)])
    accuracies = [np.mean((distances <= cut) == same) for cut in cuts]
    np.testing.assert_allclose(float(chosen.accuracy), max(accuracies), rtol=1e-6)
    np.testing.assert_allclose(float(faces.verification_accuracy(distances, same, chosen.threshold)),
                               max(accuracies), rtol=1e-6)


def test_threshold_is_midway_between_the_best_cut_and_the_next_distance(figures_of):
    *_, chosen = figures_of(np.array([0.1, 0.2, 0.9, 1.3], np.float32), np.array([1, 1, 0, 0]))
    np.testing.assert_allclose(float(chosen.threshold), 0.55, rtol=1e-6)
    assert float(chosen.accuracy) == 1.0


def test_equal_error_rate_hand_worked(figures_of):
    # Same pairs at d = 1, 2, 3, 4; different pairs at 2.5, 5, 6, 7. Accepting d ≤ 2.5: TPR 1/2, FPR 1/4
    # (g = −1/4); accepting d ≤ 3: TPR 3/4, FPR 1/4 (g = 0): the EER is exactly 1/4 at τ = 3.
    distances = np.array([1, 2, 3, 4, 2.5, 5, 6, 7], np.float32)
    same = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    _, _, eer, _ = figures_of(distances, same)
    np.testing.assert_allclose([float(eer.rate), float(eer.threshold)], [0.25, 3.0], rtol=1e-6)
    # Interpolated: same at 1, 3; different at 2, 4. Points (0, 1/2) g=−1/2 at τ=1, (1/2, 1/2) g=0 at τ=2.
    _, _, eer, _ = figures_of(np.array([1, 3, 2, 4], np.float32), np.array([1, 1, 0, 0]))
    np.testing.assert_allclose(float(eer.rate), 0.5, rtol=1e-6)
    # Between points: same at 1, 2, 4; different at 3, 5. (τ=2: FPR 0, TPR 2/3, g=−1/3),
    # (τ=3: FPR 1/2, TPR 2/3, g=1/6): t = 2/3, EER = 1/3 = 1 − TPR.
    _, _, eer, _ = figures_of(np.array([1, 2, 4, 3, 5], np.float32), np.array([1, 1, 1, 0, 0]))
    np.testing.assert_allclose([float(eer.rate), float(eer.threshold)], [1 / 3, 2 + 2 / 3], rtol=1e-6)


def test_equal_error_rate_crosses_sklearn_curve(figures_of):
    distances, same = scored_pairs(5)
    _, _, eer, _ = figures_of(distances, same)
    fpr, tpr, _ = sklearn_roc_curve(same, -distances, drop_intermediate=False)
    gap = fpr + tpr - 1
    k = int(np.argmax(gap >= 0))
    t = -gap[k - 1] / (gap[k] - gap[k - 1])
    np.testing.assert_allclose(float(eer.rate), fpr[k - 1] + t * (fpr[k] - fpr[k - 1]), rtol=1e-5)


def test_verification_figures_use_the_dev_threshold_on_test():
    dev_d, dev_same = np.array([0.1, 0.2, 0.9, 1.3], np.float32), np.array([1, 1, 0, 0])
    test_d, test_same = np.array([0.5, 0.6, 0.4, 2.0], np.float32), np.array([1, 0, 0, 0])
    figures = jax.jit(faces.verification_figures)(dev_d, dev_same, test_d, test_same)
    np.testing.assert_allclose(float(figures["threshold"]), 0.55, rtol=1e-6)
    assert float(figures["test_verification_accuracy"]) == 0.75        # 0.4 accepted wrongly
    np.testing.assert_allclose(float(figures["test_roc_auc"]), roc_auc_score(test_same, -test_d))


def test_sample_pairs_balanced_deterministic_and_true():
    labels = np.array([0, 0, 0, 1, 1, 2, 3])     # identities 2 and 3 have one image: only 'different'
    pairs = faces.sample_pairs(labels, 50, seed=4)
    again = faces.sample_pairs(labels, 50, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(pairs, again))
    assert pairs.same.sum() == 50 and len(pairs.same) == 100
    np.testing.assert_array_equal(labels[pairs.first] == labels[pairs.second], pairs.same == 1)
    assert np.all(pairs.first != pairs.second)
    with pytest.raises(ValueError, match="has two images"):
        faces.sample_pairs(np.array([0, 1, 2]), 5)
    with pytest.raises(ValueError, match="only one identity"):
        faces.sample_pairs(np.array([0, 0]), 5)
