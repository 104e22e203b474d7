"""The README's Python examples run as written."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## From Python"):]
    section = section[:section.index("\n## ", 3)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_has_both_python_examples():
    assert len(_examples()) == 2


def _run(code, tmp_path):
    os.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.dataset
def test_the_flow_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run(_examples()[0], tmp_path)
    assert (tmp_path / "rtl" / "manifest.json").is_file()


@pytest.mark.dataset
def test_the_pytorch_example_runs(tmp_path, monkeypatch, capsys):
    import torch
    torch.manual_seed(0)
    monkeypatch.chdir(tmp_path)
    _run(_examples()[1], tmp_path)
    printed = capsys.readouterr().out.split("\n")
    assert float(printed[1]) > 0.9  # the integer SNN at T = 1 on the 10,000 test images
    assert (tmp_path / "mlp.nir").is_file()


def test_the_readme_is_a_users_page_of_at_most_12_kb():
    """Details and tables belong in docs/ (results.md, boards.md, architecture.md)."""
    assert len(README.read_bytes()) <= 12 * 1024
