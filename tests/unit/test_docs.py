"""The documentation that is generated from code matches the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from chaoskit.faults.catalogue import BUILTINS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_faults_page_is_what_the_generator_renders():
    """docs/faults.md is byte for byte what docs/generate.py renders from the catalogue today."""
    page = (DOCS / "faults.md").read_text(encoding="utf-8")
    assert page == _generator().render(), "docs/faults.md is stale: run `python docs/generate.py`"


def test_generated_page_lists_every_fault_and_parameter():
    """Every kind in the catalogue has a section, and every parameter it declares is listed in it."""
    page = _generator().render()
    for kind, cls in BUILTINS.items():
        section = page.split(f"## `{kind}`\n", 1)[1].split("\n## ", 1)[0]
        for spec in cls.signature.params:
            assert f"- `{spec.name}` (" in section, (kind, spec.name)


def test_readme_experiment_is_the_example_file_and_valid():
    """The README's first experiment is docs/examples/web-latency.yaml (comments aside), and it loads."""
    from chaoskit.faults.catalogue import signatures
    from chaoskit.model.loader import load_experiment

    path = DOCS / "examples" / "web-latency.yaml"
    body = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith("#"))
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{body}```" in readme
    experiment = load_experiment(str(path), variables={}, fault_params=signatures())
    assert [step.fault for step in experiment.method] == ["network.latency"]
