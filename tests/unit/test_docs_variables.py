"""docs/variables.md is generated from the argument specs and documents each variable once."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def spec_variables() -> set[str]:
    names = set()
    for path in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for spec in (yaml.safe_load(path.read_text())["argument_specs"] or {}).values():
            names.update(spec.get("options") or {})
    return names


def test_variables_reference_is_not_stale():
    proc = subprocess.run([sys.executable, "scripts/docs_variables.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def documented_variables() -> list[str]:
    """The first cell of every row of the variable tables (the environments table holds values)."""
    sections = re.split(r"^## ", (ROOT / "docs" / "variables.md").read_text(), flags=re.M)[1:]
    return [name for section in sections if not section.startswith("Environments")
            for name in re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.M)]


def test_every_specified_variable_is_documented_exactly_once():
    rows = documented_variables()
    assert sorted(rows) == sorted(spec_variables())
    assert len(rows) == len(set(rows))


def test_a_changed_spec_changes_the_reference():
    sys.path.insert(0, str(ROOT / "scripts"))
    import docs_variables

    specs = docs_variables.load_specs(ROOT)
    before = docs_variables.render(specs)
    role, option = next((role, option) for role, entries in specs.items()
                        for name, option in entries["main"]["options"].items() if name.startswith(role + "_"))
    option["description"] = "A description nobody wrote."
    assert "A description nobody wrote." in docs_variables.render(specs)
    assert docs_variables.render(docs_variables.load_specs(ROOT)) == before
