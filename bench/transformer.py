"""Benchmark: Transformer training throughput (tokens/s), dlcourse against PyTorch, and its growth with length.

Two models of the same shape on both sides (``--models``), post-norm layers as in Vaswani et al.
(``x + Dropout(Sublayer(x))`` then layer norm), ReLU position-wise FFN, sinusoidal positions added
to the token embeddings (scaled by √d_model), dropout ``--dropout`` on the embeddings and every
sub-layer output:

- ``lm``: a decoder-only language model (self-attention under the look-ahead mask + FFN per layer,
  a dense readout to ``|V|`` logits) trained on next-token prediction;
- ``translation``: the encoder–decoder (encoder self-attention; decoder masked self-attention,
  attention over the encoder's output, FFN) trained on random source/target pairs, teacher forced.

Both minimize softmax cross-entropy averaged over the target tokens with Adam (α =
``--learning-rate``, β₁ = 0.9, β₂ = 0.98 as in the paper, ε = 1e-8). The data are ``steps · batch``
random sequences of ``T = --length`` tokens (ids 3 … |V| − 1, uniform, seeded; masks all ones, so
every token is real, but both sides apply the padding masks as they would to padded data) plus one
dev batch; the LM reads ``<PAD> y⟨1⟩ … y⟨T−1⟩`` and predicts ``y⟨1⟩ … y⟨T−1⟩ <EOS>``
(:func:`dlcourse.data.next_token_examples`), the translation model reads a source of T tokens and
the target shifted right behind ``<PAD>``.

- **dlcourse**: :class:`dlcourse.models.TransformerLM` / :class:`dlcourse.models.Transformer` in the
  ``Trainable`` of ``train.supervised`` (loss ``'softmax'`` under the token mask, metric perplexity,
  ``epochs=1``, ``evaluate_train=False``), as the experiments build them. A run is
  ``jax.jit(trainable.epoch)``: one ``lax.scan`` of the Adam steps over mini-batches shuffled on the
  device, then the dev batch, and one host read. ``init`` and the epoch are compiled ahead of time
  (``train.compile_lowered``), reported apart and excluded from the throughput.
- **PyTorch** (not a dependency of dlcourse): ``nn.Embedding`` per vocabulary (initialized N(0, 1/d_model)
  as dlcourse's), the same sinusoids, ``nn.TransformerEncoder`` of ``nn.TransformerEncoderLayer`` (the
  LM: that stack under a causal mask, which is a decoder-only layer) and ``nn.TransformerDecoder`` of
  ``nn.TransformerDecoderLayer`` (``norm_first=False``, ReLU, ``batch_first``, layer-norm ε = 1e-6 as
  Flax's, no final norm), ``nn.Linear`` readout, ``torch.optim.Adam`` with the same numbers; boolean
  look-ahead and key-padding masks. PyTorch's layers would also drop out the attention weights and the
  FFN's hidden units; those two are switched off (the attention modules' ``dropout = 0``, the FFN's
  ``Dropout`` replaced by ``Identity``), so both sides drop out where the paper does and train the
  same function with the same parameters, whose counts are printed and asserted equal. Other
  initializations are each library's defaults, so the losses move at slightly different speeds; the
  work per step is the same. A run is a ``torch.randperm`` shuffle, the same steps (gather, forward,
  ``cross_entropy``, ``zero_grad``, ``backward``, ``step``), the dev batch in ``eval()`` under
  ``no_grad``, one host read.

tokens/s = ``steps · batch · T`` target tokens / median seconds of a run (for ``translation`` the T
source tokens of each pair are processed too but not counted). Each repetition runs both sides once,
interleaved in one process (the order alternates), after one untimed warm-up each; the ratio is
dlcourse's tokens/s over PyTorch's (above 1: dlcourse is faster).

Length (``--lengths``, default 64,128,256,512,1024; empty to skip): the ``--length-model`` trained at
each T with ``--length-batch`` sequences per step and ``--length-steps`` steps per run, ``--length-repeats``
runs timed per side; time per step = median run / steps (the run's shuffle and dev batch included).
Self-attention costs O(T²·d) per sequence against the O(T·d²) of the projections and FFN, so the
exponent k of time ∝ T^k (least squares on log–log over the lengths, and between the last two) climbs
from below 1 (fixed costs) towards 2 as T outgrows d_model. The table and a log–log PNG (``--plot``)
of both sides with their exponents (and T¹, T² guides) are written. What differs at long T: PyTorch's
layers call ``F.scaled_dot_product_attention`` (``need_weights=False``), one fused CPU kernel for the
masked softmax(QKᵀ/√d_k)V and its gradient; dlcourse's attention is two batched matrix products and
a masked softmax that XLA runs as separate kernels, writing the ``[m, h, T, T]`` weights out and
reading them back in the backward pass (the attention alone, forward and backward at m = 4, h = 4,
T = 1024, d_head = 16, load 2.5: 0.31 s on XLA's two threads against 0.15 s for PyTorch's kernel on
one; ``jax.nn.dot_product_attention(is_causal=True)`` took 0.33 s, no better on the CPU).

Whole process (``--whole-process``): each side as a user feels it — one fresh Python process per
model and side, spawn to exit, that imports what it needs (the PyTorch process imports neither JAX
nor dlcourse: its data come from numpy alone, the same arrays), builds the data and the model,
compiles (dlcourse: JAX's persistent cache off) and trains one run; the median of
``--process-repeats`` processes per side, the sides alternating.

Devices: JAX uses its default backend (a GPU when one is visible); PyTorch ``--torch-device``
(default ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``), synchronized before every
host read. PyTorch comes from wherever ``import torch`` finds it (e.g. ``PYTHONPATH=/path/to/site``);
CPU threads: ``--torch-threads`` (default 1, see :func:`bench.timing.configure_torch`). XLA uses every
core. On a loaded machine both sides slow down unevenly; compare on an idle one (the load average is
printed).

    python bench/transformer.py [--models lm,translation] [--vocab 64] [--d-model 64] [--heads 4]
                                [--d-ff 256] [--layers 2] [--dropout 0.1] [--batch-size 16]
                                [--length 64] [--steps 8] [--repeats 5]
                                [--lengths 64,128,256,512,1024] [--length-model lm]
                                [--length-batch 4] [--length-steps 2] [--length-repeats 3] [--plot PATH]
                                [--torch-threads 1] [--torch-device cpu|cuda] [--whole-process]
    python bench/transformer.py --preset base     # the paper's base model: d 512, 8 heads, FFN 2048, 6 layers
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import timing  # noqa: E402

PAD_ID, EOS_ID, FIRST_WORD_ID = 0, 1, 3   # dlcourse.embeddings' <PAD>, <EOS>; 2 is <UNK>
BETA1, BETA2, ADAM_EPSILON = 0.9, 0.98, 1e-8
LAYER_NORM_EPSILON = 1e-6   # Flax's LayerNorm default, which dlcourse's layers use
MODELS = ("lm", "translation")
MODEL_NAMES = {"lm": "decoder-only LM", "translation": "encoder-decoder"}
PRESETS = {   # the size flags' values; a flag given on the command line wins
    "small": {"vocab": 64, "d_model": 64, "heads": 4, "d_ff": 256, "layers": 2, "batch_size": 16,
              "length": 64, "steps": 8, "length_batch": 4, "length_steps": 2},
    "base": {"vocab": 8000, "d_model": 512, "heads": 8, "d_ff": 2048, "layers": 6, "batch_size": 32,
             "length": 128, "steps": 4, "length_batch": 4, "length_steps": 2},
}


class Workload(NamedTuple):
    """What one timed run trains: ``model`` (``'lm'`` or ``'translation'``), ``steps`` Adam steps on
    mini-batches of ``batch_size`` sequences of ``length`` tokens."""

    model: str
    length: int
    batch_size: int
    steps: int

    @property
    def tokens(self) -> int:
        return self.steps * self.batch_size * self.length


def token_arrays(work: Workload, vocab: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Training and dev arrays, int32 ``[m, T]``, numpy only (module docstring): ``x`` (LM inputs or
    the source), ``y`` (targets) and, for translation, ``t`` (the decoder's inputs, ``y`` shifted)."""
    rng = np.random.default_rng(seed)
    model, length = work.model, work.length

    def words(m, n):
        return rng.integers(FIRST_WORD_ID, vocab, (m, n), dtype=np.int32)

    def split(m):
        if model == "lm":
            w = words(m, length - 1)
            return {"x": np.concatenate([np.full((m, 1), PAD_ID, np.int32), w], axis=1),
                    "y": np.concatenate([w, np.full((m, 1), EOS_ID, np.int32)], axis=1)}
        source, target = words(m, length), words(m, length)
        return {"x": source, "y": target,
                "t": np.concatenate([np.full((m, 1), PAD_ID, np.int32), target[:, :-1]], axis=1)}

    train, dev = split(work.steps * work.batch_size), split(work.batch_size)
    return {**{f"{k}_train": v for k, v in train.items()}, **{f"{k}_dev": v for k, v in dev.items()}}


def sinusoids(length: int, d_model: int) -> np.ndarray:
    """``PE[pos, 2i] = sin(pos / 10000^{2i/d})``, ``PE[pos, 2i+1] = cos(…)``, float32 ``[T, d]``: the
    table of :func:`dlcourse.nn.positional_encoding` (checked equal in process) without importing it."""
    angles = np.arange(length)[:, None] / 10000.0 ** (np.arange(0, d_model, 2) / d_model)[None, :]
    table = np.zeros((length, d_model), np.float32)
    table[:, 0::2], table[:, 1::2] = np.sin(angles), np.cos(angles[:, : d_model // 2])
    return table


# ----- dlcourse ----------------------------------------------------------------------------------------


class DlcourseTraining(timing.SupervisedEpochs):
    def __init__(self, work: Workload, args, arrays):
        from dlcourse import data, models

        def examples(split):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            mask = np.ones(y.shape, np.float32)
            if work.model == "lm":
                return data.Examples((x, mask), y, mask)
            return data.Examples((x, mask, arrays[f"t_{split}"], mask), y, mask)

        dataset = data.Dataset(examples("train"), examples("dev"))
        sizes = dict(d_model=args.d_model, num_heads=args.heads, num_layers=args.layers, d_ff=args.d_ff,
                     dropout_rate=args.dropout, max_length=work.length)
        if work.model == "lm":
            model = models.TransformerLM(args.vocab, **sizes)
        else:
            model = models.Transformer(args.vocab, args.vocab, **sizes)
        super().__init__(model, dataset, learning_rate=args.learning_rate, beta1=BETA1, beta2=BETA2,
                         batch_size=work.batch_size)


# ----- PyTorch -----------------------------------------------------------------------------------------


def torch_network(torch, model_kind: str, args, length: int):
    """The ``torch.nn`` twin (module docstring): ``forward(x, t=None) -> logits [m, T, |V|]``."""
    nn = torch.nn
    d_model = args.d_model

    def layer(kind):
        built = kind(d_model, args.heads, args.d_ff, args.dropout, activation="relu",
                     layer_norm_eps=LAYER_NORM_EPSILON, batch_first=True, norm_first=False)
        built.dropout = nn.Identity()      # no dropout inside the FFN (its hidden units) …
        for attention in (built.self_attn, getattr(built, "multihead_attn", None)):
            if attention is not None:
                attention.dropout = 0.0    # … nor on the attention weights: only on sub-layer outputs
        return built

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("positions", torch.as_tensor(sinusoids(length, d_model)))
            self.dropout = nn.Dropout(args.dropout)
            if model_kind == "lm":
                self.embedding = nn.Embedding(args.vocab, d_model)
                self.stack = nn.TransformerEncoder(layer(nn.TransformerEncoderLayer), args.layers,
                                                   enable_nested_tensor=False)
            else:
                self.source_embedding = nn.Embedding(args.vocab, d_model)
                self.embedding = nn.Embedding(args.vocab, d_model)
                self.encoder = nn.TransformerEncoder(layer(nn.TransformerEncoderLayer), args.layers,
                                                     enable_nested_tensor=False)
                self.stack = nn.TransformerDecoder(layer(nn.TransformerDecoderLayer), args.layers)
            self.readout = nn.Linear(d_model, args.vocab)
            with torch.no_grad():
                for module in self.modules():
                    if isinstance(module, nn.Embedding):
                        module.weight.normal_(0.0, d_model ** -0.5)   # dlcourse's N(0, 1/d_model)

        def embed(self, embedding, tokens):
            return self.dropout(embedding(tokens) * math.sqrt(d_model) + self.positions[: tokens.shape[1]])

        def forward(self, x, t=None):
            size = x.shape[1] if t is None else t.shape[1]
            causal = torch.ones(size, size, dtype=torch.bool, device=x.device).triu(1)   # True: may not attend
            no_padding = torch.zeros(x.shape, dtype=torch.bool, device=x.device)       # True: padding
            if t is None:
                z = self.stack(self.embed(self.embedding, x), mask=causal, src_key_padding_mask=no_padding)
            else:
                memory = self.encoder(self.embed(self.source_embedding, x), src_key_padding_mask=no_padding)
                z = self.stack(self.embed(self.embedding, t), memory, tgt_mask=causal,
                               tgt_key_padding_mask=torch.zeros(t.shape, dtype=torch.bool, device=x.device),
                               memory_key_padding_mask=no_padding)
            return self.readout(z)

    return Network()


class TorchTraining:
    def __init__(self, torch, device, work: Workload, args, arrays):
        self.torch, self.device, self.steps, self.batch_size = torch, device, work.steps, work.batch_size
        torch.manual_seed(0)
        self.generator = torch.Generator().manual_seed(0)
        self.tensors = {k: torch.as_tensor(v.astype(np.int64), device=device) for k, v in arrays.items()}
        self.has_target_inputs = work.model == "translation"
        self.network = torch_network(torch, work.model, args, work.length).to(device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=args.learning_rate, betas=(BETA1, BETA2),
                                          eps=ADAM_EPSILON)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.network.parameters() if p.requires_grad)

    def loss(self, split, rows=None):
        pick = (lambda a: a) if rows is None else (lambda a: a[rows])
        x, y = pick(self.tensors[f"x_{split}"]), pick(self.tensors[f"y_{split}"])
        t = pick(self.tensors[f"t_{split}"]) if self.has_target_inputs else None
        logits = self.network(x, t)
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def run(self) -> dict:
        torch = self.torch
        order = torch.randperm(len(self.tensors["x_train"]), generator=self.generator).to(self.device)
        self.network.train()
        total = None
        for step in range(self.steps):
            loss = self.loss("train", order[step * self.batch_size:(step + 1) * self.batch_size])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total = loss.detach() if total is None else total + loss.detach()
        self.network.eval()
        with torch.no_grad():
            dev_loss = self.loss("dev")
        train_loss, dev_loss = torch.stack([total / self.steps, dev_loss]).tolist()   # one host read
        return {"train_loss": train_loss, "dev_loss": dev_loss}


def torch_setup(args):
    """``(torch, device)``; exits 3 when PyTorch is not installed."""
    torch = timing.peer_torch(args.torch_threads)
    return torch, timing.torch_device(torch, args.torch_device or ("cuda" if torch.cuda.is_available() else "cpu"))


def compare(torch, device, work: Workload, args, repeats: int) -> dict:
    """Both sides on ``work``: parameter counts (asserted equal), 1 warm-up + ``repeats`` interleaved
    runs each; median seconds per run, dlcourse's compile seconds, the first and last runs' losses."""
    from dlcourse import nn as dlcourse_nn

    np.testing.assert_allclose(sinusoids(work.length, args.d_model),
                               dlcourse_nn.positional_encoding(work.length, args.d_model), atol=1e-6)
    arrays = token_arrays(work, args.vocab)
    ours, theirs = DlcourseTraining(work, args, arrays), TorchTraining(torch, device, work, args, arrays)
    assert ours.parameter_count == theirs.parameter_count, (work, ours.parameter_count, theirs.parameter_count)
    methods = {"dlcourse": ours.run, "torch": theirs.run}
    first = {name: run() for name, run in methods.items()}
    times, last = timing.run_interleaved(methods, repeats)
    print(f"# {work.model}, T {work.length}: runs dlcourse {', '.join(f'{t:.2f}' for t in times['dlcourse'])} s; "
          f"PyTorch {', '.join(f'{t:.2f}' for t in times['torch'])} s", flush=True)
    return {"seconds": {name: timing.median(t) for name, t in times.items()}, "compile": ours.compile_seconds,
            "parameters": ours.parameter_count, "first": first, "last": last}


# ----- processes ---------------------------------------------------------------------------------------


def one_side(args) -> int:
    """One ``--whole-process`` child: data, model, compile and one run of one model on one side."""
    work = Workload(args.model, args.length, args.batch_size, args.steps)
    arrays = token_arrays(work, args.vocab)
    if args.side == "torch":
        run = TorchTraining(*torch_setup(args), work, args, arrays)
    else:
        run = DlcourseTraining(work, args, arrays)
    print(json.dumps(run.run()))
    return 0


def common_flags(args) -> list[str]:
    flags = ["--vocab", args.vocab, "--d-model", args.d_model, "--heads", args.heads, "--d-ff", args.d_ff,
             "--layers", args.layers, "--dropout", args.dropout, "--batch-size", args.batch_size,
             "--length", args.length, "--steps", args.steps, "--learning-rate", args.learning_rate,
             "--torch-threads", args.torch_threads]
    if args.torch_device:
        flags += ["--torch-device", args.torch_device]
    return [str(f) for f in flags]


def whole_process(args) -> list[list[str]]:
    """Rows ``[model, dlcourse s, PyTorch s, ratio]``: medians of fresh processes, spawn to exit."""
    env = dict(os.environ, DLCOURSE_COMPILATION_CACHE="none", JAX_ENABLE_COMPILATION_CACHE="false")
    rows = []
    for model in args.models:
        seconds = {"dlcourse": [], "torch": []}
        for repeat in range(args.process_repeats):
            for side in (("dlcourse", "torch") if repeat % 2 == 0 else ("torch", "dlcourse")):
                command = [sys.executable, __file__, "--side", side, "--model", model, *common_flags(args)]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(REPO))
                seconds[side].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{side} {model} process failed:\n{done.stderr[-2000:]}")
        print(f"# whole process, {model}: dlcourse {', '.join(f'{t:.1f}' for t in seconds['dlcourse'])} s; "
              f"PyTorch {', '.join(f'{t:.1f}' for t in seconds['torch'])} s", flush=True)
        ours, theirs = timing.median(seconds["dlcourse"]), timing.median(seconds["torch"])
        rows.append([f"{MODEL_NAMES[model]}, one run", f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.2f}"])
    return rows


# ----- growth with length ------------------------------------------------------------------------------


def fitted_exponent(lengths, seconds) -> float:
    """``k`` of ``seconds ≈ c · length^k``: the least-squares slope of log seconds on log length."""
    return float(np.polyfit(np.log(lengths), np.log(seconds), 1)[0])


def length_growth(torch, device, args) -> tuple[list[list[str]], dict[str, list[float]]]:
    """Rows per length and ``{side: [seconds per step]}`` for ``--length-model`` at every ``--lengths``."""
    rows, per_step = [], {"dlcourse": [], "torch": []}
    for length in args.lengths:
        work = Workload(args.length_model, length, args.length_batch, args.length_steps)
        result = compare(torch, device, work, args, args.length_repeats)
        for side in per_step:
            per_step[side].append(result["seconds"][side] / work.steps)
        ours, theirs = (work.tokens / result["seconds"][side] for side in ("dlcourse", "torch"))
        rows.append([str(length), f"{1e3 * per_step['dlcourse'][-1]:,.1f}", f"{1e3 * per_step['torch'][-1]:,.1f}",
                     f"{ours:,.0f}", f"{theirs:,.0f}", f"{ours / theirs:.2f}", f"{result['compile']:.1f}"])
    return rows, per_step


def plot_growth(path: Path, lengths, per_step, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.5, 4))
    for side, label, marker in (("dlcourse", "dlcourse", "o"), ("torch", "PyTorch", "s")):
        k = fitted_exponent(lengths, per_step[side])
        axes.loglog(lengths, [1e3 * s for s in per_step[side]], marker=marker,
                    label=f"{label} ($\\propto T^{{{k:.2f}}}$)")
    anchor = 1e3 * min(per_step["dlcourse"][0], per_step["torch"][0])
    for power, style in ((1, ":"), (2, "--")):   # guides through the faster side's first point
        axes.loglog(lengths, [anchor * (t / lengths[0]) ** power for t in lengths], style, color="grey",
                    linewidth=0.8, label=f"$T^{power}$")
    axes.set_xscale("log", base=2)
    axes.set_xticks(lengths, [str(t) for t in lengths])
    axes.set_xlabel("sequence length T (tokens)")
    axes.set_ylabel("ms per training step")
    axes.set_title(title, fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ----- the benchmark -----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=tuple(PRESETS), default="small",
                        help="sizes (small: seconds per run on 2 cores; base: the paper's base model)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: lm, translation")
    parser.add_argument("--vocab", type=int, help="|V| (each side of translation)")
    parser.add_argument("--d-model", type=int, help="d_model")
    parser.add_argument("--heads", type=int, help="attention heads (d_model divisible by them)")
    parser.add_argument("--d-ff", type=int, help="the FFN's hidden width")
    parser.add_argument("--layers", type=int, help="layers (per stack for translation)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout rate")
    parser.add_argument("--batch-size", type=int, help="sequences per mini-batch")
    parser.add_argument("--length", type=int, help="tokens per sequence T")
    parser.add_argument("--steps", type=int, help="Adam steps per timed run")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's α")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side (median reported)")
    parser.add_argument("--lengths", default="64,128,256,512,1024",
                        help="comma-separated T for the growth table ('' to skip)")
    parser.add_argument("--length-model", choices=MODELS, default="lm", help="the model of the growth table")
    parser.add_argument("--length-batch", type=int, help="sequences per mini-batch in the growth table")
    parser.add_argument("--length-steps", type=int, help="Adam steps per run in the growth table")
    parser.add_argument("--length-repeats", type=int, default=3, help="timed runs per side and length")
    parser.add_argument("--plot", default="runs/bench/transformer_length.png",
                        help="PNG of time per step against T ('' for none)")
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch intra-op threads (0: its default)")
    parser.add_argument("--torch-device", help="cpu, cuda, cuda:N (default: cuda when available, else cpu)")
    parser.add_argument("--whole-process", action="store_true", help="also time fresh processes, spawn to exit")
    parser.add_argument("--process-repeats", type=int, default=3, help="processes per side and model")
    parser.add_argument("--side", choices=("dlcourse", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.models = [m for m in args.models.split(",") if m]
    if not args.models or set(args.models) - set(MODELS):
        parser.error(f"--models must be a comma-separated subset of {','.join(MODELS)}, got {args.models}")
    try:
        args.lengths = [int(t) for t in args.lengths.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--lengths must be comma-separated integers, got {args.lengths!r}")
    for name in ("d_model", "heads", "d_ff", "layers", "batch_size", "steps", "repeats", "length_batch",
                 "length_steps", "length_repeats", "process_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.d_model % args.heads or args.d_model % 2:
        parser.error(f"--d-model {args.d_model} must be even and divisible by --heads {args.heads}")
    if args.vocab <= FIRST_WORD_ID or args.length < 2 or any(t < 2 for t in args.lengths):
        parser.error(f"--vocab must exceed {FIRST_WORD_ID} (the special tokens) and every length be >= 2")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if len(args.lengths) == 1:
        parser.error("--lengths needs two lengths or more to fit an exponent ('' to skip)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return one_side(args)
    start = time.perf_counter()
    torch, device = torch_setup(args)
    import jax

    print(f"# Transformer, post-norm: |V| {args.vocab}, d_model {args.d_model}, {args.heads} heads, d_ff {args.d_ff}, "
          f"{args.layers} layers, dropout {args.dropout}; Adam α {args.learning_rate}, β {BETA1}/{BETA2}")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}; PyTorch {torch.__version__} on "
          f"{timing.torch_device_text(torch, device)}")
    print(f"# machine: {timing.machine_text()}; 1 warm-up + {args.repeats} interleaved repeats, medians", flush=True)
    rows = []
    for model in args.models:
        work = Workload(model, args.length, args.batch_size, args.steps)
        result = compare(torch, device, work, args, args.repeats)
        ours, theirs = (work.tokens / result["seconds"][side] for side in ("dlcourse", "torch"))
        first, last = result["first"], result["last"]
        rows.append([f"{MODEL_NAMES[model]} ({result['parameters']:,} parameters each)", f"{ours:,.0f} tokens/s",
                     f"{theirs:,.0f} tokens/s", f"{ours / theirs:.2f}", f"{result['compile']:.1f}",
                     f"{first['dlcourse']['train_loss']:.3f}→{last['dlcourse']['train_loss']:.3f} / "
                     f"{first['torch']['train_loss']:.3f}→{last['torch']['train_loss']:.3f}"])
        print(f"# {model}: batch {work.batch_size} x T {work.length}, {work.steps} Adam steps per run "
              f"({work.tokens:,} target tokens); parameter counts equal: {result['parameters']:,}", flush=True)
    print()
    print(timing.table(["in process", "dlcourse", "PyTorch", "dlcourse speed / PyTorch", "dlcourse compile s",
                        "train loss dlcourse / PyTorch"], rows))
    print(f"\nabove 1: dlcourse is faster; a run = shuffle, steps, dev batch, host read; compile excluded; "
          f"log |V| = {np.log(args.vocab):.3f}")
    if args.lengths:
        print(f"\n# growth with length: {MODEL_NAMES[args.length_model]}, batch {args.length_batch}, "
              f"{args.length_steps} Adam steps per run; machine: {timing.machine_text()}", flush=True)
        table, per_step = length_growth(torch, device, args)
        print()
        print(timing.table(["T", "dlcourse ms/step", "PyTorch ms/step", "dlcourse tokens/s", "PyTorch tokens/s",
                            "dlcourse speed / PyTorch", "dlcourse compile s"], table))
        exponents = {side: fitted_exponent(args.lengths, per_step[side]) for side in per_step}
        print(f"\ntime per step ∝ T^k, least squares on log-log over T = {args.lengths[0]}…{args.lengths[-1]}: "
              f"dlcourse k = {exponents['dlcourse']:.2f}, PyTorch k = {exponents['torch']:.2f}; "
              f"between the last two lengths: dlcourse "
              f"{fitted_exponent(args.lengths[-2:], per_step['dlcourse'][-2:]):.2f}, PyTorch "
              f"{fitted_exponent(args.lengths[-2:], per_step['torch'][-2:]):.2f}")
        if args.plot:
            path = Path(args.plot) if Path(args.plot).is_absolute() else Path.cwd() / args.plot
            plot_growth(path, args.lengths, per_step,
                        f"{MODEL_NAMES[args.length_model]} training, d_model {args.d_model}, {args.layers} layers, "
                        f"batch {args.length_batch}\n{timing.jax_device_text()} / PyTorch "
                        f"{timing.torch_device_text(torch, device)}")
            print(f"plot: {path}")
    if args.whole_process:
        timing.print_whole_process(whole_process(args))
    print(f"# total {time.perf_counter() - start:.0f} s; machine now: {timing.machine_text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
