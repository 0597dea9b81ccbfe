"""Error analysis on beam search (course 5): is a wrong output the search's fault or the model's?

For a dev example with human translation ``y*`` where the algorithm output ``ŷ ≠ y*``, the model itself
says which one it prefers:

- case 1, ``P(y* | x) > P(ŷ | x)``: the model rates ``y*`` higher, yet beam search returned ``ŷ`` —
  **beam search is at fault** (a larger ``B`` may help);
- case 2, ``P(y* | x) ≤ P(ŷ | x)``: ``y*`` is the better translation but the model rates it lower —
  **the model is at fault** (regularization, more data, another architecture).

Counting the cases over the dev set's errors gives the fraction of errors "due to" each. The comparison is
of the objective the beam maximizes: with length normalization the two are compared by
``(1 / T_y^α) · log P(y | x)`` (``T_y`` counting ``<EOS>``), which is how the course applies it once
normalization is in use; ``α = 0`` compares ``log P`` itself, i.e. the notes' ``P(y*|x)`` against ``P(ŷ|x)``.

:func:`teacher_forced_log_probability` computes ``log P(y* | x)`` with the same step the search used.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["BeamErrorAnalysis", "beam_error_analysis", "format_beam_error_analysis", "teacher_forced_log_probability"]

BEAM, MODEL, CORRECT = "beam", "model", "correct"


class BeamErrorAnalysis(NamedTuple):
    """Per dev example, who is at fault, and the totals.

    Attributes:
      fault: str ``[n]``: ``"beam"`` (case 1), ``"model"`` (case 2), or ``"correct"`` (``ŷ`` right: not an error).
      objective_truth: ``[n]``, ``(1 / T_{y*}^α) log P(y* | x)`` (``log P(y* | x)`` when ``α = 0``).
      objective_output: ``[n]``, the same for ``ŷ``.
      alpha: the ``α`` of the comparison.
      errors: the number of wrong outputs.
      beam_errors, model_errors: how many of them are case 1, case 2.
      beam_fraction, model_fraction: ``beam_errors / errors``, ``model_errors / errors`` (NaN without errors).
    """

    fault: np.ndarray
    objective_truth: np.ndarray
    objective_output: np.ndarray
    alpha: float
    errors: int
    beam_errors: int
    model_errors: int
    beam_fraction: float
    model_fraction: float


def _vector(value, name: str, n: Optional[int] = None) -> np.ndarray:
    array = np.asarray(value, np.float64)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise ValueError(f"{name} must be one value per example, shape [{'n' if n is None else n}]; "
                         f"got shape {array.shape}")
    return array


def beam_error_analysis(log_p_truth, log_p_output, correct, *, truth_length=None, output_length=None,
                        alpha: float = 0.0) -> BeamErrorAnalysis:
    """Attributes each wrong output to beam search (case 1) or the model (case 2) (module docstring).

    Args:
      log_p_truth: ``log P(y* | x)`` per example, ``[n]``.
      log_p_output: ``log P(ŷ | x)`` per example, ``[n]`` (e.g. ``Beams.log_probability[:, 0]``).
      correct: bool ``[n]``, whether ``ŷ`` counts as right; those examples are no errors.
      truth_length, output_length: ``T_{y*}``, ``T_ŷ`` per example (``<EOS>`` included); needed when ``α > 0``.
      alpha: compare ``(1 / T_y^α) log P(y | x)``, the beam's objective (``0``: ``log P``).
    """
    truth = _vector(log_p_truth, "log_p_truth")
    n = truth.shape[0]
    output = _vector(log_p_output, "log_p_output", n)
    correct = np.asarray(correct)
    if correct.shape != (n,) or correct.dtype != bool:
        raise ValueError(f"correct must be bool, one per example, shape [{n}]; got {correct.dtype} {correct.shape}")
    alpha = float(alpha)
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0; got {alpha!r}")
    if alpha > 0:
        if truth_length is None or output_length is None:
            raise ValueError(f"alpha = {alpha} compares length-normalized scores: pass truth_length and output_length")
        lengths = [_vector(length, name, n) for length, name in
                   ((truth_length, "truth_length"), (output_length, "output_length"))]
        if any((length < 1).any() for length in lengths):
            raise ValueError("truth_length and output_length must be >= 1 (tokens up to and including <EOS>)")
        truth, output = truth / lengths[0] ** alpha, output / lengths[1] ** alpha
    fault = np.where(correct, CORRECT, np.where(truth > output, BEAM, MODEL))
    errors = int((~correct).sum())
    beam_errors = int((fault == BEAM).sum())
    model_errors = errors - beam_errors
    fraction = (lambda count: count / errors) if errors else (lambda count: float("nan"))
    return BeamErrorAnalysis(fault, truth, output, alpha, errors, beam_errors, model_errors,
                             fraction(beam_errors), fraction(model_errors))


def _probability(log_p: float) -> str:
    """``P = exp(log P)`` as ``2.00e-10``, computed from the exponent so that no tiny ``P`` underflows."""
    if not np.isfinite(log_p):
        return "0" if log_p < 0 else str(log_p)
    exponent = np.floor(log_p / np.log(10.0))
    mantissa = np.exp(log_p - exponent * np.log(10.0))
    if mantissa >= 9.995:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.2f}e{int(exponent):+03d}"


def _cell(text: str, width: int = 40) -> str:
    text = str(text).replace("\n", " ")
    return text if len(text) <= width else text[:width - 1] + "…"


def format_beam_error_analysis(analysis: BeamErrorAnalysis, examples: Optional[Sequence[tuple[str, str]]] = None,
                               *, max_rows: int = 20) -> str:
    """The notes' table — Human, Algorithm, ``P(y*|x)``, ``P(ŷ|x)``, at fault (B)eam or (M)odel — over the
    first ``max_rows`` errors, then the counts and fractions.

    ``examples``: per example (all ``n``, aligned with ``analysis``) the pair ``(human y*, algorithm ŷ)`` as
    text; without it the table shows example indices only. With ``α > 0`` the objective columns show
    ``(1 / T_y^α) log P`` instead of ``P``.
    """
    n = len(analysis.fault)
    if examples is not None and len(examples) != n:
        raise ValueError(f"examples must hold one (human, algorithm) pair per example, {n}; got {len(examples)}")
    if not isinstance(max_rows, int) or max_rows < 0:
        raise ValueError(f"max_rows must be an int >= 0; got {max_rows!r}")
    if analysis.alpha > 0:
        header = [f"(1/T^{analysis.alpha:g}) log P(y*|x)", f"(1/T^{analysis.alpha:g}) log P(ŷ|x)"]
        show = lambda value: f"{value:.4f}"                                    # noqa: E731
    else:
        header, show = ["P(y*|x)", "P(ŷ|x)"], _probability
    header = ["#"] + (["Human (y*)", "Algorithm (ŷ)"] if examples is not None else []) + header + ["At fault?"]
    wrong = np.flatnonzero(analysis.fault != CORRECT)
    rows = []
    for i in wrong[:max_rows]:
        texts = [_cell(examples[i][0]), _cell(examples[i][1])] if examples is not None else []
        fault = "(B) beam" if analysis.fault[i] == BEAM else "(M) model"
        rows.append([str(i)] + texts + [show(analysis.objective_truth[i]), show(analysis.objective_output[i]), fault])
    widths = [max(len(row[k]) for row in [header] + rows) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header] + rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if len(wrong) > max_rows:
        lines.append(f"… {len(wrong) - max_rows} more errors")

    def percent(fraction):
        return "–" if np.isnan(fraction) else f"{100 * fraction:.1f}%"

    lines.append(f"errors: {analysis.errors} of {n} examples; beam search at fault (case 1): "
                 f"{analysis.beam_errors} ({percent(analysis.beam_fraction)}); model at fault (case 2): "
                 f"{analysis.model_errors} ({percent(analysis.model_fraction)})")
    return "\n".join(lines)


def teacher_forced_log_probability(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, first_tokens, tokens,
                                   mask):
    """``log P(y | x) = Σ_t mask⟨t⟩ log P(y⟨t⟩ | x, y⟨<t⟩)`` of given sequences under a decoding step, feeding
    ``x⟨1⟩ = first_tokens`` and then ``x⟨t⟩ = y⟨t−1⟩`` (one ``lax.scan``; jittable).

    Args:
      step: ``(state, x⟨t⟩: int [m]) -> (state, logits [m, |V|])``, as for beam search.
      state: the step's state before the first token (leading axis ``m``).
      first_tokens: int ``[m]``.
      tokens: int ``[m, T]``, ``y⟨1⟩ … y⟨T⟩`` (e.g. ``y*`` with its ``<EOS>``).
      mask: ``[m, T]``, true on the real tokens.

    Returns ``[m]``; equal to ``Beams.log_probability`` for the beams' own tokens.
    """
    tokens, mask = jnp.asarray(tokens, jnp.int32), jnp.asarray(mask)
    first_tokens = jnp.asarray(first_tokens, jnp.int32)
    if tokens.ndim != 2 or mask.shape != tokens.shape or first_tokens.shape != tokens.shape[:1]:
        raise ValueError(f"need first_tokens [m], tokens [m, T] and mask [m, T]; got {first_tokens.shape}, "
                         f"{tokens.shape}, {mask.shape}")
    inputs = jnp.concatenate([first_tokens[:, None], tokens[:, :-1]], axis=1)

    def one_step(state, columns):
        x, y, real = columns
        state, logits = step(state, x)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1), y[:, None], axis=-1)
        return state, jnp.where(real, log_p[:, 0], 0.0)

    _, terms = lax.scan(one_step, state, (inputs.T, tokens.T, mask.T))
    return jnp.sum(terms, axis=0)
