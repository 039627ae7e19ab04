"""The README's "Verify your PyTorch model" walkthrough, run as written:
its code block is executed in a temporary folder and its test functions
called. Skipped where torch is not installed."""

import os
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough():
    text = README.read_text()
    block = text.split("<!-- pytorch-walkthrough -->", 1)[1].split("<!-- end pytorch-walkthrough -->", 1)[0]
    return block.split("```python", 1)[1].rsplit("```", 1)[0]


def test_the_walkthrough_is_in_the_readme():
    code = walkthrough()
    assert "torch.onnx.export" in code and "reluverify.check" in code and "def test_" in code


def test_pytorch_walkthrough_runs(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="torch is not installed: pip install torch to run the README's PyTorch walkthrough")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_walkthrough"}
    exec(compile(walkthrough(), str(README), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert len(tests) == 2
    for test in tests:
        test()
    assert os.path.exists("classifier.onnx")
