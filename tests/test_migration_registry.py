"""The registry in migrations/__init__.py matches the module files, and the runner's
validation of a registry catches gaps, duplicates, bad ids and missing ``upgrade``."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import dashai_store.migrations as installed_migrations
import pytest
from dashai_store.migrations import REGISTRY
from migration_fixtures.support import REPO

from dashai_store import errors
from dashai_store.migrator import steps_from

MIGRATIONS = REPO / "migrations"
FILE_NAME = re.compile(r"^m(\d{4})_[a-z0-9_]+$")


def registry_problems(folder: Path, registry: Sequence[ModuleType]) -> list[str]:
    """Every way the registry and the module files in ``folder`` disagree."""
    problems: list[str] = []
    stems = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    for stem in stems:
        if not FILE_NAME.match(stem):
            problems.append(f"{stem}.py is not named mNNNN_<name>.py (it would never be registered)")
    steps = [s for s in stems if FILE_NAME.match(s)]
    numbers = [int(s[1:5]) for s in steps]
    if len(set(numbers)) != len(numbers):
        problems.append(f"duplicate migration numbers: {sorted(numbers)}")
    if sorted(set(numbers)) != list(range(1, len(set(numbers)) + 1)):
        problems.append(f"migration numbers are not 1, 2, 3, ...: {sorted(numbers)}")
    registered = [m.__name__.rsplit(".", 1)[-1] for m in registry]
    for stem in sorted(set(steps) - set(registered)):
        problems.append(f"{stem}.py is not in the registry")
    for name in sorted(set(registered) - set(steps)):
        problems.append(f"registry entry {name} has no file in {folder}")
    if len(set(registered)) != len(registered):
        problems.append(f"the registry lists a module twice: {registered}")
    if registered != sorted(registered):
        problems.append(f"the registry is out of order: {registered}")
    for module in registry:
        stem = module.__name__.rsplit(".", 1)[-1]
        if getattr(module, "ID", None) != stem[1:]:
            problems.append(f"{stem} has ID {getattr(module, 'ID', None)!r}, expected {stem[1:]!r}")
    return problems


def test_the_registry_matches_the_repository_files() -> None:
    assert registry_problems(MIGRATIONS, REGISTRY) == []
    assert next(m.ID for m in REGISTRY) == "0001_initial"


def test_the_registry_matches_the_installed_package_files() -> None:
    folder = Path(installed_migrations.__file__).parent
    assert registry_problems(folder, REGISTRY) == []


def test_the_runner_accepts_the_registry() -> None:
    steps = steps_from(REGISTRY)
    assert [s.sequence for s in steps] == list(range(1, len(REGISTRY) + 1))
    assert [s.id for s in steps] == [m.ID for m in REGISTRY]
    checksums = [s.checksum for s in steps]
    assert all(len(c) == 64 for c in checksums) and len(set(checksums)) == len(checksums)


def test_the_registry_imports_every_step_statically() -> None:
    """PyInstaller follows static imports only: no scanning, no import by string."""
    tree = ast.parse((MIGRATIONS / "__init__.py").read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    ]
    stems = sorted(p.stem for p in MIGRATIONS.glob("m*.py"))
    assert imported == stems
    calls = {
        getattr(node.func, "attr", getattr(node.func, "id", ""))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & {"import_module", "__import__", "listdir", "iterdir", "glob", "walk_packages"}


@pytest.mark.parametrize("path", sorted(MIGRATIONS.glob("m*.py")), ids=lambda p: p.name)
def test_a_migration_never_imports_the_models(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("dashai_store") for a in node.names), path.name
        elif isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("dashai_store"), path.name
            assert node.level == 0, f"{path.name}: relative import {node.module}"


# -- the checks can fail ------------------------------------------------------------------------


def _module(name: str, step_id: object = None, upgrade: bool = True) -> ModuleType:
    module = ModuleType(f"fake.{name}")
    if step_id is not None:
        module.ID = step_id  # type: ignore[attr-defined]
    if upgrade:
        module.upgrade = lambda migrator, db: None  # type: ignore[attr-defined]
    return module


def _folder(tmp_path: Path, *stems: str) -> Path:
    (tmp_path / "__init__.py").write_text("")
    for stem in stems:
        (tmp_path / f"{stem}.py").write_text("")
    return tmp_path


def test_registry_problems_finds_a_forgotten_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "m0001_a", "m0002_b")
    problems = registry_problems(folder, [_module("m0001_a", "0001_a")])
    assert problems == ["m0002_b.py is not in the registry"]


def test_registry_problems_finds_duplicates_gaps_bad_names_and_ids(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "m0001_a", "m0001_b", "m0003_c", "0004_d")
    registry = [_module("m0001_a", "0001_a"), _module("m0001_b", "0001_x"), _module("m0003_c", "0003_c")]
    problems = registry_problems(folder, registry)
    assert any("0004_d.py is not named" in p for p in problems)
    assert any("duplicate migration numbers" in p for p in problems)
    assert any("not 1, 2, 3" in p for p in problems)
    assert any("m0001_b has ID '0001_x'" in p for p in problems)


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ([_module("m0001_a", "0001_a"), _module("m0003_c", "0003_c")], "expected 0002_<name>"),
        ([_module("m0001_a", "0001_a"), _module("m0001_b", "0001_b")], "expected 0002_<name>"),
        ([_module("m0002_a", "0002_a")], "expected 0001_<name>"),
        ([_module("m0001_a", "1_a")], "expected 0001_<name>"),
        ([_module("m0001_a", None)], "expected 0001_<name>"),
        ([_module("m0001_a", "0001_Upper")], "expected 0001_<name>"),
        ([_module("m0001_a", "0001_a", upgrade=False)], "has no upgrade"),
    ],
    ids=["gap", "duplicate", "not from 1", "short number", "no ID", "bad name", "no upgrade"],
)
def test_the_runner_refuses_a_malformed_registry(registry: list[ModuleType], message: str) -> None:
    with pytest.raises(errors.MigrationError, match=re.escape(message)):
        steps_from(registry)
