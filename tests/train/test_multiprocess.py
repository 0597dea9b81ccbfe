"""Two local processes (2 fake CPU devices each, gloo collectives) train like one process."""

import os
import socket
import subprocess
import sys

import chex
import jax
import numpy as np
import pytest

from dlcourse.train import data_mesh

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "two_process_training.py")


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _launch_two_processes(tmp_path):
    port = _free_port()
    out = tmp_path / "metrics.npz"
    processes, logs = [], []
    for process_id in range(2):
        env = dict(os.environ)
        env.update(DLCOURSE_COORDINATOR=f"localhost:{port}", DLCOURSE_NUM_PROCESSES="2",
                   DLCOURSE_PROCESS_ID=str(process_id), JAX_PLATFORMS="cpu",
                   XLA_FLAGS="--xla_force_host_platform_device_count=2")
        log = open(tmp_path / f"process_{process_id}.log", "w")
        logs.append(log)
        processes.append(subprocess.Popen([sys.executable, WORKER, str(out)], env=env, cwd=HERE,
                                          stdout=log, stderr=subprocess.STDOUT))
    try:
        codes = [p.wait(timeout=240) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
        for log in logs:
            log.close()
    if any(codes):
        tails = [(tmp_path / f"process_{i}.log").read_text()[-3000:] for i in range(2)]
        pytest.fail(f"worker exit codes {codes}\n" + "\n---\n".join(tails))
    return dict(np.load(out))


@pytest.mark.slow
def test_two_processes_equal_one_process_with_four_devices(tmp_path):
    sys.path.insert(0, HERE)
    try:
        from two_process_training import build_trainable
    finally:
        sys.path.remove(HERE)
    result = _launch_two_processes(tmp_path)
    assert bool(result.pop("joined")) and int(result.pop("processes")) == 2
    assert int(result.pop("devices")) == 4

    trainable = build_trainable(data_mesh(jax.devices()[:4]))
    expected = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(3))
    expected = {k: np.asarray(v) for k, v in expected.items()}
    assert set(result) == set(expected)
    chex.assert_trees_all_close(result, expected, atol=1e-5, rtol=1e-5)
