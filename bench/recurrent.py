"""Benchmark: LSTM language-model training throughput (tokens/s) on the CPU, dlcourse against PyTorch.

The model of ``experiments/char_lm.py`` and ``experiments/word_lm.py`` at one size on both sides:
embedding ``E: (|V|, n_e)`` → one LSTM layer of ``n_a`` units → a dense readout to ``|V|`` logits,
trained on next-token prediction (softmax cross-entropy averaged over the batch's tokens) with Adam
(α = ``--learning-rate``, β₁ = 0.9, β₂ = 0.999, ε = 1e-8). The data are ``steps · batch`` random
sequences of ``T = --length`` tokens (ids 3 … |V| − 1, uniform, seeded; no padding, so every step is
real) arranged as the language model reads them (:func:`dlcourse.data.next_token_examples`: inputs
``<PAD> y⟨1⟩ … y⟨T−1⟩``, targets ``y⟨1⟩ … y⟨T−1⟩ <EOS>``), plus one dev batch.

- **dlcourse**: :class:`dlcourse.models.LanguageModel` (``cell='lstm'``, :class:`dlcourse.nn.LSTM`
  unrolled by ``lax.scan``) in the ``Trainable`` of ``train.supervised`` (loss ``'softmax'`` with the
  token mask, metric perplexity, ``epochs=1``, ``evaluate_train=False``), as the experiments build it.
  A run is ``jax.jit(trainable.epoch)``: one ``lax.scan`` of the Adam steps over mini-batches shuffled
  on the device, then the dev batch, and one host read of the row. ``init`` and the epoch are compiled
  ahead of time (``train.compile_lowered``), reported apart and excluded from the throughput.
- **PyTorch** (CPU; not a dependency of dlcourse): ``nn.Embedding(|V|, n_e, padding_idx=0)`` (dlcourse
  embeds ``<PAD>`` as the zero vector too), ``nn.LSTM(n_e, n_a, batch_first=True)``,
  ``nn.Linear(n_a, |V|)``, ``torch.optim.Adam`` with the same α, β₁, β₂, ε. ``nn.LSTM`` carries two
  bias vectors per gate (``b_ih + b_hh``) where the course's LSTM (and dlcourse's) has one; ``b_hh`` is
  zeroed and frozen, so both sides train the same function with the same trainable parameters, whose
  counts are printed and asserted equal (the embedding's ``<PAD>`` row included on both sides). A run
  is a ``torch.randperm`` shuffle, the same steps (gather, forward, ``cross_entropy``, ``zero_grad``,
  ``backward``, ``step``), then the dev batch under ``no_grad`` and one host read.

tokens/s = ``steps · batch · T`` / median seconds of a run. Each repetition runs both sides once,
interleaved in one process (the order alternates), after one untimed warm-up each; the ratio is
dlcourse's tokens/s over PyTorch's (above 1: dlcourse is faster). The loss column shows each side's
mean training loss of its first run → its last run (both start near ``log |V|``; random tokens allow
no lower than ``log(|V| − 3)`` on unseen data, but the runs revisit the same ``steps · batch``
sequences, which a model can memorize). The initializations differ — dlcourse's (Flax's) against
PyTorch's defaults (embedding N(0, 1), LSTM and readout U(±1/√n_a)) — so the losses move at
different speeds (PyTorch's large embeddings memorize the repeated sequences sooner at the larger
sizes); the work per step is the same.

Whole process (``--whole-process``): each side as a user feels it — one fresh Python process per
side, spawn to exit, that imports what it needs (the PyTorch process imports neither JAX nor dlcourse:
its data come from numpy alone, the same arrays), builds the data and the model, compiles (dlcourse:
JAX's persistent cache off) and trains one run; the median of ``--process-repeats`` processes per
side, the sides alternating.

PyTorch comes from wherever ``import torch`` finds it (e.g. ``PYTHONPATH=/path/to/site``); CPU
threads: ``--torch-threads`` (default 1, see :func:`bench.timing.configure_torch`). XLA uses every
core. On a loaded machine both sides slow down unevenly; compare on an idle one (the load average is
printed).

    python bench/recurrent.py [--vocab 64] [--embedding 32] [--hidden 128] [--batch-size 32]
                              [--length 64] [--steps 8] [--repeats 5] [--torch-threads 1]
                              [--whole-process] [--process-repeats 3]
    python bench/recurrent.py --vocab 2000 --embedding 128 --hidden 256      # a word-level size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import timing  # noqa: E402

PAD_ID, EOS_ID, FIRST_WORD_ID = 0, 1, 3   # dlcourse.embeddings' <PAD>, <EOS>; 2 is <UNK>
BETA1, BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def token_arrays(args, seed: int = 0) -> dict[str, np.ndarray]:
    """Training and dev ``inputs``/``targets`` int32 ``[m, T]`` (module docstring), numpy only."""
    rng = np.random.default_rng(seed)

    def split(m):
        words = rng.integers(FIRST_WORD_ID, args.vocab, (m, args.length - 1), dtype=np.int32)
        inputs = np.concatenate([np.full((m, 1), PAD_ID, np.int32), words], axis=1)
        targets = np.concatenate([words, np.full((m, 1), EOS_ID, np.int32)], axis=1)
        return inputs, targets

    x_train, y_train = split(args.steps * args.batch_size)
    x_dev, y_dev = split(args.batch_size)
    return {"x_train": x_train, "y_train": y_train, "x_dev": x_dev, "y_dev": y_dev}


class DlcourseTraining(timing.SupervisedEpochs):
    def __init__(self, args, arrays):
        from dlcourse import data, embeddings, models, optim

        assert optim.optimizer_defaults("adam")["eps"] == ADAM_EPSILON
        # the same arrays through the library's own arrangement (checked equal, so both sides read the same)
        def examples(x, y):
            built = data.next_token_examples([row[:-1] for row in y], args.length)
            np.testing.assert_array_equal(built.inputs, x)
            np.testing.assert_array_equal(built.targets, y)
            return built

        dataset = data.Dataset(examples(arrays["x_train"], arrays["y_train"]),
                               examples(arrays["x_dev"], arrays["y_dev"]))
        model = models.LanguageModel(args.vocab, embedding_size=args.embedding, hidden_size=args.hidden,
                                     num_layers=1, cell="lstm", pad_id=embeddings.PAD_ID)
        super().__init__(model, dataset, learning_rate=args.learning_rate, beta1=BETA1, beta2=BETA2,
                         batch_size=args.batch_size)


class TorchTraining:
    def __init__(self, torch, args, arrays):
        nn = torch.nn
        self.torch, self.steps, self.batch_size = torch, args.steps, args.batch_size
        torch.manual_seed(0)
        self.generator = torch.Generator().manual_seed(0)
        self.x_train, self.y_train, self.x_dev, self.y_dev = (
            torch.as_tensor(arrays[k].astype(np.int64)) for k in ("x_train", "y_train", "x_dev", "y_dev"))
        self.embedding = nn.Embedding(args.vocab, args.embedding, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(args.embedding, args.hidden, batch_first=True)
        with torch.no_grad():
            self.lstm.bias_hh_l0.zero_()
        self.lstm.bias_hh_l0.requires_grad_(False)   # one bias per gate, as the course's LSTM
        self.readout = nn.Linear(args.hidden, args.vocab)
        self.modules = nn.ModuleList([self.embedding, self.lstm, self.readout])
        self.parameters = [p for p in self.modules.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.parameters, lr=args.learning_rate, betas=(BETA1, BETA2),
                                          eps=ADAM_EPSILON)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters)

    def loss(self, x, y):
        logits = self.readout(self.lstm(self.embedding(x))[0])
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def run(self) -> dict:
        torch = self.torch
        order = torch.randperm(len(self.x_train), generator=self.generator)
        self.modules.train()
        total = None
        for step in range(self.steps):
            rows = order[step * self.batch_size:(step + 1) * self.batch_size]
            loss = self.loss(self.x_train[rows], self.y_train[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total = loss.detach() if total is None else total + loss.detach()
        self.modules.eval()
        with torch.no_grad():
            dev_loss = self.loss(self.x_dev, self.y_dev)
        return {"train_loss": float(total) / self.steps, "dev_loss": float(dev_loss)}


# ----- processes ---------------------------------------------------------------------------------------


def one_side(args) -> int:
    """One ``--whole-process`` child: data, model, compile and one run on one side."""
    arrays = token_arrays(args)
    if args.side == "torch":
        torch = timing.peer_torch(args.torch_threads)
        run = TorchTraining(torch, args, arrays)
    else:
        run = DlcourseTraining(args, arrays)
    print(json.dumps(run.run()))
    return 0


def common_flags(args) -> list[str]:
    return ["--vocab", str(args.vocab), "--embedding", str(args.embedding), "--hidden", str(args.hidden),
            "--batch-size", str(args.batch_size), "--length", str(args.length), "--steps", str(args.steps),
            "--learning-rate", str(args.learning_rate), "--torch-threads", str(args.torch_threads)]


def whole_process(args) -> list[str]:
    """The row ``[label, dlcourse s, PyTorch s, ratio]``: medians of fresh processes, spawn to exit."""
    env = dict(os.environ, DLCOURSE_COMPILATION_CACHE="none", JAX_ENABLE_COMPILATION_CACHE="false")
    seconds = {"dlcourse": [], "torch": []}
    for repeat in range(args.process_repeats):
        for side in (("dlcourse", "torch") if repeat % 2 == 0 else ("torch", "dlcourse")):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--side", side, *common_flags(args)],
                                  capture_output=True, text=True, env=env, cwd=str(REPO))
            seconds[side].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{side} process failed:\n{done.stderr[-2000:]}")
    print(f"# whole process: dlcourse {', '.join(f'{t:.1f}' for t in seconds['dlcourse'])} s; PyTorch "
          f"{', '.join(f'{t:.1f}' for t in seconds['torch'])} s", flush=True)
    ours, theirs = timing.median(seconds["dlcourse"]), timing.median(seconds["torch"])
    return ["LSTM LM, one run", f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.2f}"]


# ----- the benchmark -----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=int, default=64, help="|V| (characters: 64)")
    parser.add_argument("--embedding", type=int, default=32, help="embedding width n_e")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM units n_a")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per mini-batch")
    parser.add_argument("--length", type=int, default=64, help="tokens per sequence T")
    parser.add_argument("--steps", type=int, default=8, help="Adam steps per timed run")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam's α")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side (median reported)")
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch intra-op threads (0: its default)")
    parser.add_argument("--whole-process", action="store_true", help="also time fresh processes, spawn to exit")
    parser.add_argument("--process-repeats", type=int, default=3, help="processes per side")
    parser.add_argument("--side", choices=("dlcourse", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("embedding", "hidden", "batch_size", "steps", "repeats", "process_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.vocab <= FIRST_WORD_ID or args.length < 2:
        parser.error(f"--vocab must exceed {FIRST_WORD_ID} (the special tokens) and --length be >= 2")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return one_side(args)
    torch = timing.peer_torch(args.torch_threads)
    import jax

    tokens = args.steps * args.batch_size * args.length
    print(f"# LSTM language model: |V| {args.vocab}, embedding {args.embedding}, hidden {args.hidden}; batch "
          f"{args.batch_size} x T {args.length}, {args.steps} Adam steps per run ({tokens:,} tokens)")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}; PyTorch {torch.__version__} on CPU "
          f"({torch.get_num_threads()} threads)")
    print(f"# machine: {timing.machine_text()}; 1 warm-up + {args.repeats} interleaved repeats, medians", flush=True)
    arrays = token_arrays(args)
    ours, theirs = DlcourseTraining(args, arrays), TorchTraining(torch, args, arrays)
    assert ours.parameter_count == theirs.parameter_count, (ours.parameter_count, theirs.parameter_count)
    print(f"# {ours.parameter_count:,} trainable parameters each side", flush=True)
    methods = {"dlcourse": ours.run, "torch": theirs.run}
    first = {name: run() for name, run in methods.items()}
    times, last = timing.run_interleaved(methods, args.repeats)
    ours_rate, theirs_rate = tokens / timing.median(times["dlcourse"]), tokens / timing.median(times["torch"])
    row = ["LSTM LM training", f"{ours_rate:,.0f} tokens/s", f"{theirs_rate:,.0f} tokens/s",
           f"{ours_rate / theirs_rate:.2f}", f"{ours.compile_seconds:.1f}",
           f"{first['dlcourse']['train_loss']:.3f}→{last['dlcourse']['train_loss']:.3f} / "
           f"{first['torch']['train_loss']:.3f}→{last['torch']['train_loss']:.3f}"]
    print()
    print(timing.table(["in process", "dlcourse", "PyTorch", "dlcourse speed / PyTorch", "dlcourse compile s",
                        "train loss dlcourse / PyTorch"], [row]))
    print(f"\nabove 1: dlcourse is faster; a run = shuffle, steps, dev batch, host read; compile excluded; "
          f"log |V| = {np.log(args.vocab):.3f}")
    if args.whole_process:
        timing.print_whole_process([whole_process(args)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
