"""Per-event detection counted by hand, and per-step precision and recall against scikit-learn."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from dlcourse import audio
from dlcourse import metrics as dlmetrics


def test_runs_touching_by_hand():
    a = np.array([0, 1, 1, 0, 1, 0, 1, 1, 1], bool)
    b = np.array([0, 0, 1, 0, 0, 0, 0, 0, 1], bool)
    assert [int(v) for v in audio.runs_touching(a, b)] == [3, 2]      # runs 1–2, 4, 6–8; 4 untouched
    assert [int(v) for v in audio.runs_touching(b, a)] == [2, 2]
    assert [int(v) for v in audio.runs_touching(np.ones(4, bool), np.zeros(4, bool))] == [1, 0]


def test_events_detections_and_false_alarms_by_hand():
    labels = np.array([[0, 0, 1, 1, 1, 0, 0, 0, 1, 1],
                       [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    probabilities = np.array([[.1, .6, .4, .7, .2, .1, .9, .1, .1, .2],    # events 2–4 (hit at 3), 8–9 (missed)
                              [.1, .1, .1, .1, .6, .6, .1, .1, .1, .9]])   # no event; firings 4–5 and 9
    counts = audio.count_events(probabilities, labels, threshold=0.5)
    assert np.asarray(counts.events).tolist() == [2, 0]
    assert np.asarray(counts.detected).tolist() == [1, 0]
    assert np.asarray(counts.firings).tolist() == [3, 2]                  # at 1, at 3, at 6; at 4–5, at 9
    assert np.asarray(counts.false_alarms).tolist() == [2, 2]             # all but the one at step 3
    summary = audio.event_summary(counts)
    assert summary == {"events": 2, "detected": 1, "firings": 5, "false_alarms": 4, "detection_rate": 0.5,
                       "false_alarms_per_clip": 2.0, "event_precision": pytest.approx(0.2)}


def test_step_precision_and_recall_equal_scikit_learn():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 20)).astype(np.float32)
    labels = (rng.uniform(size=(6, 20)) < 0.3).astype(np.float32)
    predicted, truth = (logits > 0).ravel(), labels.ravel().astype(int)
    metrics = (dlmetrics.PRECISION, dlmetrics.RECALL)
    values = jax.jit(lambda z, y: [m.value(m.statistics(z, y, jnp.ones(y.shape))) for m in metrics])(logits, labels)
    assert [float(v) for v in values] == pytest.approx([precision_score(truth, predicted),
                                                        recall_score(truth, predicted)], rel=1e-6)
