"""The code in README.md and WORKSPACE.md runs as printed: the tour's snippets, and the
"write your own experiment" file, run alone and swept from a folder outside the repository."""

import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / markdown).read_text(), re.S)


def _env():
    return dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")


def test_the_readme_tour_runs():
    code = "\n".join(block for block in _python_blocks("README.md")).replace("epochs=20", "epochs=2")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=_env(),
                            cwd=str(ROOT))
    assert result.returncode == 0, result.stderr


def test_the_workspace_experiment_runs_alone_and_sweeps_from_another_folder(tmp_path):
    (block,) = [b for b in _python_blocks("WORKSPACE.md") if b.startswith("# my_experiment.py")]
    path = tmp_path / "my_experiment.py"
    path.write_text(block)
    alone = subprocess.run([sys.executable, str(path), "--config.epochs=2", f"--workdir={tmp_path / 'alone'}"],
                           capture_output=True, text=True, timeout=240, cwd=str(tmp_path), env=_env())
    assert alone.returncode == 0, alone.stderr
    summary = json.loads(alone.stdout.strip().splitlines()[-1])
    assert summary["experiment"] == "my_experiment" and "final_dev_error" in summary and "test_accuracy" in summary
    sweep = subprocess.run([sys.executable, str(ROOT / "launch.py"), "--config=my_experiment.py", "--trials=2",
                            "--config.epochs=2", "--sweep=learning_rate=log(1e-3,1),hidden=int(16,32)",
                            f"--workdir={tmp_path / 'sweep'}"],
                           capture_output=True, text=True, timeout=240, cwd=str(tmp_path), env=_env())
    assert sweep.returncode == 0, sweep.stderr
    assert "trials 2/2" in sweep.stdout and "best dev accuracy" in sweep.stdout
