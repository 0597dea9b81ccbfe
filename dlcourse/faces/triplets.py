"""The triplet loss and the mining of hard triplets inside a mini-batch.

An encoder maps an image to a unit vector ``f(x)``; the distance of two images is the squared
Euclidean ``d(x_1, x_2) = ‖f(x_1) − f(x_2)‖²``. For an anchor ``A``, a positive ``P`` (the same
identity) and a negative ``N`` (another identity) the course wants ``d(A, P) + α ≤ d(A, N)``, so
the loss of a triplet is

    L(A, P, N) = max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)

with margin ``α`` (the standard form of FaceNet, Schroff et al., 2015; the notes' transcription of
"choosing the triplets" garbles the inequality into ratios). Random triplets mostly satisfy the
margin already and teach nothing ("choose triplets that are hard to train on"), so the triplets
are chosen inside each mini-batch, from the labels, when the loss is computed (online mining;
Schroff et al., 2015; Hermans et al., 2017):

- **batch hard**: for each anchor ``a``, its hardest positive ``p* = argmax_p d(a, p)`` and
  hardest negative ``n* = argmin_n d(a, n)``; the anchor's term is ``L(a, p*, n*)``.
- **semi-hard**: for each anchor ``a`` and each of its positives ``p``, the negative
  ``n*(a, p) = argmin {d(a, n) : d(a, n) > d(a, p)}`` — the closest negative farther than the
  positive, so a semi-hard one (``d(a, p) < d(a, n) < d(a, p) + α``) whenever one exists, and
  otherwise one outside the margin (its loss is 0). When *no* negative is farther than the
  positive (every negative is hard) the fallback is the farthest negative, ``argmax_n d(a, n)``,
  the least hard of them (as TensorFlow Addons' ``triplet_semihard_loss`` does). The anchor's term
  is the mean of ``L(a, p, n*(a, p))`` over its positives.

An anchor with no positive or no negative among the batch's valid rows has the term 0.

Terms are per anchor, ``[B]``: the shape :func:`dlcourse.train.supervised` wants from a loss
``(outputs, targets) -> terms``. The builder weights the terms by its example mask, but the
loss also needs to know which *other* rows are real when it mines (a padding row repeats a real
example; as a positive it would sit at distance 0 from its original). Two conventions tell it:

- ``targets``: integer identity labels ``[B]``; a label ``< 0`` marks a row to leave out;
- ``outputs``: the embeddings ``[B, d]`` or :class:`MaskedEmbeddings` ``(vectors, mask)`` — what
  :class:`EncoderWithMask` returns: the builder passes its example mask (``[B]``, 0 for padding)
  to a model that takes ``mask``, and the wrapper hands it on to the loss.

A row is valid when its label is ``≥ 0`` and its mask is non-zero. Under a data-parallel mesh the
builder calls the loss on each device's slice of the batch, so mining happens within each slice.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.metrics import Metric
from dlcourse.nn.masked_means import guarded_divide

MINING = ("batch_hard", "semi_hard")


class MaskedEmbeddings(NamedTuple):
    """Embeddings with the mask of the rows that are real examples.

    Attributes:
      vectors: float ``[B, d]``, the encoder's ``f(x)``.
      mask: float ``[B]``; 1 for a real example, 0 for padding.
    """

    vectors: jax.Array
    mask: jax.Array


class EncoderWithMask(nn.Module):
    """``encoder`` whose output carries the example mask: ``x → MaskedEmbeddings(f(x), mask)``.

    ``__call__(x, *, train=False, mask=None)``: ``mask`` (``[B]``) defaults to ones; ``train`` is
    passed on when the encoder takes it. Parameters live under ``'encoder'``.
    """

    encoder: nn.Module

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> MaskedEmbeddings:
        vectors = self.encoder(x, train=train)
        if mask is None:
            mask = jnp.ones(vectors.shape[:1], jnp.float32)
        return MaskedEmbeddings(vectors, jnp.asarray(mask, jnp.float32))


def split_outputs(outputs: Any) -> tuple[jax.Array, jax.Array]:
    """``(vectors [B, d], mask [B])`` from embeddings or :class:`MaskedEmbeddings` (mask of ones)."""
    if isinstance(outputs, MaskedEmbeddings):
        vectors, mask = jnp.asarray(outputs.vectors), jnp.asarray(outputs.mask, jnp.float32)
    else:
        vectors = jnp.asarray(outputs)
        mask = jnp.ones(vectors.shape[:1], jnp.float32)
    if vectors.ndim != 2:
        raise ValueError(f"embeddings must have shape [batch, d]; got {vectors.shape}")
    if mask.shape != vectors.shape[:1]:
        raise ValueError(f"the mask must have shape {vectors.shape[:1]}; got {mask.shape}")
    return vectors, mask


def squared_distances(vectors: jax.Array) -> jax.Array:
    """``D_ij = ‖v_i − v_j‖²`` for ``vectors [B, d]``; ``[B, B]``, computed from the differences
    (exactly 0 on the diagonal, never negative)."""
    differences = vectors[:, None, :] - vectors[None, :, :]
    return jnp.sum(differences * differences, axis=-1)


def triplet_loss(anchor: jax.Array, positive: jax.Array, negative: jax.Array, margin: float = 0.2) -> jax.Array:
    """``max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)`` for given triplets of embeddings
    ``[..., d]``; returns ``[...]``."""
    d_ap = jnp.sum((anchor - positive) ** 2, axis=-1)
    d_an = jnp.sum((anchor - negative) ** 2, axis=-1)
    return jnp.maximum(d_ap - d_an + margin, 0.0)


def _pair_masks(labels: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``positive[a, p]`` (same label, ``p ≠ a``, both valid) and ``negative[a, n]`` ``[B, B]``."""
    both = valid[:, None] & valid[None, :]
    same = labels[:, None] == labels[None, :]
    not_self = ~jnp.eye(labels.shape[0], dtype=bool)
    return both & same & not_self, both & ~same


def _valid_rows(outputs: Any, labels: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    vectors, mask = split_outputs(outputs)
    labels = jnp.asarray(labels)
    if labels.shape != vectors.shape[:1]:
        raise ValueError(f"labels must have shape {vectors.shape[:1]} (one identity per row); got {labels.shape}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"labels must be integer identities; got dtype {labels.dtype}")
    return vectors, labels, (labels >= 0) & (mask != 0)


def batch_hard_triplet_terms(outputs: Any, labels: jax.Array, margin: float = 0.2) -> jax.Array:
    """Per-anchor batch-hard triplet loss ``L(a, p*, n*)`` (see the module docstring); ``[B]``.

    Args:
      outputs: embeddings ``[B, d]`` or :class:`MaskedEmbeddings`.
      labels: int identities ``[B]``; ``< 0`` leaves a row out.
      margin: ``α`` (a Python float or a traced scalar).
    """
    vectors, labels, valid = _valid_rows(outputs, labels)
    distances = squared_distances(vectors)
    positive, negative = _pair_masks(labels, valid)
    hardest_positive = jnp.max(jnp.where(positive, distances, -jnp.inf), axis=1)
    hardest_negative = jnp.min(jnp.where(negative, distances, jnp.inf), axis=1)
    usable = jnp.any(positive, axis=1) & jnp.any(negative, axis=1) & valid
    safe_positive = jnp.where(usable, hardest_positive, 0.0)
    safe_negative = jnp.where(usable, hardest_negative, 0.0)
    return jnp.where(usable, jnp.maximum(safe_positive - safe_negative + margin, 0.0), 0.0)


def semi_hard_triplet_terms(outputs: Any, labels: jax.Array, margin: float = 0.2) -> jax.Array:
    """Per-anchor semi-hard triplet loss: the mean over the anchor's positives ``p`` of
    ``L(a, p, n*(a, p))`` (see the module docstring for ``n*`` and its fallback); ``[B]``.

    Args as :func:`batch_hard_triplet_terms`.
    """
    vectors, labels, valid = _valid_rows(outputs, labels)
    distances = squared_distances(vectors)
    positive, negative = _pair_masks(labels, valid)
    d_ap = distances[:, :, None]           # [a, p, 1]
    d_an = distances[:, None, :]           # [a, 1, n]
    is_negative = negative[:, None, :]     # [a, 1, n]
    farther = is_negative & (d_an > d_ap)  # [a, p, n]
    closest_farther = jnp.min(jnp.where(farther, d_an, jnp.inf), axis=2)             # [a, p]
    farthest = jnp.max(jnp.where(negative, distances, -jnp.inf), axis=1)[:, None]    # [a, 1]
    has_negative = jnp.any(negative, axis=1)[:, None]
    chosen = jnp.where(jnp.any(farther, axis=2), closest_farther, farthest)
    counted = positive & has_negative
    safe_chosen = jnp.where(counted, chosen, 0.0)
    losses = jnp.where(counted, jnp.maximum(distances - safe_chosen + margin, 0.0), 0.0)
    return guarded_divide(jnp.sum(losses, axis=1), jnp.sum(counted, axis=1).astype(losses.dtype))


def triplet_terms(mining: str, margin: float = 0.2):
    """The loss ``(outputs, labels) -> [B] terms`` for :func:`dlcourse.train.supervised`, with
    ``mining`` ``'batch_hard'`` or ``'semi_hard'`` and margin ``α``.

    ``α`` is closed over, so it is a constant of the compiled program (the builder's loss does not
    receive the traced hyperparameters).
    """
    if mining not in MINING:
        raise ValueError(f"mining must be one of {MINING}, got {mining!r}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    terms = batch_hard_triplet_terms if mining == "batch_hard" else semi_hard_triplet_terms

    def loss(outputs, labels):
        return terms(outputs, labels, margin)

    return loss


def _nearest_neighbour_statistics(outputs, labels, weights):
    vectors, labels, valid = _valid_rows(outputs, labels)
    valid = valid & (weights != 0)
    distances = squared_distances(vectors)
    positive, negative = _pair_masks(labels, valid)
    others = positive | negative
    nearest = jnp.argmin(jnp.where(others, distances, jnp.inf), axis=1)
    counted = jnp.any(positive, axis=1)
    hit = counted & (labels[nearest] == labels)
    return {"hits": jnp.sum(jnp.where(hit, weights, 0.0)), "count": jnp.sum(jnp.where(counted, weights, 0.0))}


#: The fraction of rows whose nearest other row (squared distance of the embeddings) has the same
#: identity, counted over the rows that have another row of their identity in the same batch
#: (evaluation batches: the whole split when ``eval_batch_size`` is at least its size).
NEAREST_NEIGHBOUR_ACCURACY = Metric("nearest_neighbour_accuracy", "max", 0.0, 1.0, _nearest_neighbour_statistics,
                                    lambda stats: guarded_divide(stats["hits"], stats["count"]))
