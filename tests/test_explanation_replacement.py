"""Replacing an explanation, cut short by a real process exit at each step of the replacement.

``explainers.save_explanation`` used to overwrite ``explanation.joblib`` inside the
transaction: an exit before COMMIT left the committed row's sha256 naming bytes that were
gone, and the explanation was refused forever. Now the replacement is staged under a new
name, committed there, and promoted over ``explanation.joblib`` in a second transaction
(files.save_joblib_staged). Whatever step a child process dies at, the explanation loads
whole afterwards (the old one or the new one), and the next save leaves one clean file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dashai_store import datasets, explainers, files, maintenance, model_sessions, models, open_store, runs
from dashai_store.database import Store

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import os, sys
from dashai_store import explainers, open_store
from dashai_store.files import tx
from dashai_store.database import run_in_transaction

home, url, kind, when = sys.argv[1], sys.argv[2] or None, sys.argv[3], sys.argv[5]
explainer_id = int(sys.argv[4])
store = open_store(home, database=url)

if when == "after-link":
    link = tx.link_atomic

    def link_then_die(source, target):
        link(source, target)
        os._exit(19)  # the staged file is linked over explanation.joblib; the repointing never commits

    tx.link_atomic = link_then_die  # what promote_staged calls
    explainers.save_explanation(kind, explainer_id, {"version": 2})
else:
    def work():
        if when == "after-commit":
            store.after_commit(lambda: os._exit(17))  # registered first: runs before the promotion
        explainers.save_explanation(kind, explainer_id, {"version": 2})
        if when == "before-commit":
            os._exit(18)  # the new file is on disk, the transaction never commits

    run_in_transaction(work)
sys.exit(0)
"""

# when: (exit code, version loaded afterwards, whether the row still names explanation.joblib)
CASES = {
    "before-commit": (18, 1, True),
    "after-commit": (17, 2, False),
    "after-link": (19, 2, False),
}
STAGED = re.compile(r"explanation\.[0-9a-f]{32}\.joblib")


def _explainer(kind: explainers.Kind) -> int:
    table = pa.table({"x": pa.array([1.0, 2.0, 3.0]), "y": pa.array([0, 1, 0])})
    ds = datasets.create("d", table)
    session = model_sessions.create(
        ds.id, "s", "TabularClassificationTask", ["x"], ["y"], {"train": 0.6, "validation": 0.2, "test": 0.2}
    )
    run = runs.create(session.id, "r", "SVC", {})
    if kind == "global":
        return explainers.create_global(run.id, "e", "KernelShap", {}).id
    return explainers.create_local(run.id, ds.id, "e", "Lime", {}, {}, [0]).id


@pytest.mark.parametrize("kind", ["global", "local"])
@pytest.mark.parametrize("when", sorted(CASES))
def test_an_explanation_replacement_cut_short_still_loads_whole(
    store: Store, home: Path, database_url: str | None, when: str, kind: explainers.Kind
) -> None:
    code, version, at_final = CASES[when]
    explainer_id = _explainer(kind)
    explainers.save_explanation(kind, explainer_id, {"version": 1})
    final = f"explainers/{kind}/{explainer_id}/explanation.joblib"
    assert explainers.get(kind, explainer_id).explanation_path == home / final
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(home), database_url or "", kind, str(explainer_id), when],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stderr
    folder = home / "explainers" / kind / str(explainer_id)
    with open_store(home, database=database_url, migrate=False):
        # The row names a whole file whose checksum matches: the old one, or the new one
        # still under its staged name (the promotion never committed).
        assert explainers.load_explanation(kind, explainer_id) == {"version": version}
        record = explainers.get(kind, explainer_id)
        assert record.explanation_path is not None
        assert (record.explanation_path == home / final) is at_final
        if not at_final:
            assert STAGED.fullmatch(record.explanation_path.name), record.explanation_path
        # The cut really came after the replacement was written: a staged file is on disk.
        assert any(STAGED.fullmatch(p.name) for p in folder.iterdir()), sorted(folder.iterdir())
        assert maintenance.check(grace_s=0).missing_files == ()
        # The next save supersedes what the crash left and is promoted to the final name.
        saved = explainers.save_explanation(kind, explainer_id, {"version": 3})
        assert saved.explanation_path == home / final
        model = models.GlobalExplainer if kind == "global" else models.LocalExplainer
        artifacts: Any = model.get_by_id(explainer_id).artifacts
        assert artifacts == {"explanation": {"path": final, "sha256": files.sha256_file(home / final)}}
        assert explainers.load_explanation(kind, explainer_id) == {"version": 3}
        assert sorted(p.name for p in folder.iterdir()) == ["explanation.joblib"]
        assert maintenance.check(grace_s=0).ok
