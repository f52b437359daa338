"""The layout of a store home: the one place its folder and file names are written.

All paths are home-relative POSIX strings built from fixed names and row ids
(docs/ARCHITECTURE.md, "The home"); nothing here touches the disk, the database or the open store::

    datasets/<dataset_id>/data.arrow          notebooks/<notebook_id>/<converter_id>.arrow
    datasets/<dataset_id>/data-<hex>.arrow    datasets/incoming-<hex>.arrow
    runs/<run_id>/model.joblib                runs/<run_id>/plots/<kind>.json
    predictions/<prediction_id>/results.arrow explorers/<explorer_id>/result.<ext>
    explainers/{global,local}/<id>/explanation.joblib, .../plot.json
    generative/<session_id>/<process_id>/<name>
    .trash/     files deleted after COMMIT, waiting for the background thread to free them
    backups/    database backups (migrations, adoption) and legacy files retired by adoption

Names given by users never become path components: folders are named by row ids, and
:func:`join` refuses any component that could leave its folder.
"""

from __future__ import annotations

from pathlib import Path

from .. import errors

DATASETS = "datasets"
NOTEBOOKS = "notebooks"
RUNS = "runs"
PREDICTIONS = "predictions"
EXPLORERS = "explorers"
EXPLAINERS = "explainers"
GENERATIVE = "generative"
TRASH = ".trash"
INCOMING = "incoming"
BACKUPS = "backups"

#: The folders whose contents belong to rows (maintenance examines only these).
MANAGED_ROOTS: tuple[str, ...] = (DATASETS, NOTEBOOKS, RUNS, PREDICTIONS, EXPLORERS, EXPLAINERS, GENERATIVE)
EXPLAINER_KINDS: tuple[str, ...] = ("global", "local")

DATA_FILE = "data.arrow"
MODEL_FILE = "model.joblib"
RESULTS_FILE = "results.arrow"
EXPLANATION_FILE = "explanation.joblib"
PLOT_FILE = "plot.json"


def join(*parts: str | int) -> str:
    """A home-relative path from fixed folder names and row ids; refuses unsafe components."""
    for part in parts:
        if isinstance(part, str) and (not part or "/" in part or "\\" in part or part in (".", "..")):
            raise errors.UnsafePath(f"{part!r} is not a valid path component")
    return "/".join(str(part) for part in parts)


# -- per-row folders and files ---------------------------------------------------------------


def dataset_folder(dataset_id: int) -> str:
    return join(DATASETS, dataset_id)


def dataset_file(dataset_id: int) -> str:
    return join(DATASETS, dataset_id, DATA_FILE)


def dataset_version_file(dataset_id: int, token: str) -> str:
    """A later version of a dataset's data (an in-place edit writes one; ``token`` is hex).

    Versions are immutable files beside the first one (:func:`dataset_file`); the dataset
    row names its current one, notebooks keep naming the version they started from.
    """
    _check_token(token)
    return join(DATASETS, dataset_id, f"data-{token}.arrow")


def dataset_incoming(token: str) -> str:
    """Where data read from outside the home is streamed before a transaction adopts it.

    Not in a row's folder: what a crash leaves here is owned by no row, and
    ``maintenance.gc`` removes it once it is older than the grace period.
    """
    _check_token(token)
    # Beside the row folders, not in a folder of its own: nothing is left behind once the
    # staged file is removed.
    return join(DATASETS, f"{INCOMING}-{token}.arrow")


def _check_token(token: str) -> None:
    if not token or any(c not in "0123456789abcdef" for c in token):
        raise errors.UnsafePath(f"{token!r} is not a hex token")


def notebook_folder(notebook_id: int) -> str:
    return join(NOTEBOOKS, notebook_id)


def notebook_snapshot(notebook_id: int, converter_id: int) -> str:
    """The table a notebook's step (converter) produced."""
    return join(NOTEBOOKS, notebook_id, f"{converter_id}.arrow")


def run_folder(run_id: int) -> str:
    return join(RUNS, run_id)


def run_model(run_id: int) -> str:
    return join(RUNS, run_id, MODEL_FILE)


def run_plot(run_id: int, kind: str, extension: str = "json") -> str:
    """A run's plot ``kind``; legacy plots kept as pickles have ``extension="pickle"``."""
    return join(RUNS, run_id, "plots", f"{kind}.{extension}")


def run_legacy_file(run_id: int, inner: str) -> str:
    """A file of a legacy run folder, adopted with its relative path ``inner`` (may hold ``/``)."""
    return f"{run_folder(run_id)}/legacy/{inner}"


def prediction_folder(prediction_id: int) -> str:
    return join(PREDICTIONS, prediction_id)


def prediction_results(prediction_id: int) -> str:
    return join(PREDICTIONS, prediction_id, RESULTS_FILE)


def explorer_folder(explorer_id: int) -> str:
    return join(EXPLORERS, explorer_id)


def explorer_result(explorer_id: int, name: str) -> str:
    return join(EXPLORERS, explorer_id, name)


def explainer_folder(kind: str, explainer_id: int) -> str:
    """``kind`` is ``"global"`` or ``"local"``."""
    return join(EXPLAINERS, kind, explainer_id)


def explainer_explanation(kind: str, explainer_id: int) -> str:
    return join(EXPLAINERS, kind, explainer_id, EXPLANATION_FILE)


def explainer_plot(kind: str, explainer_id: int, name: str = PLOT_FILE) -> str:
    return join(EXPLAINERS, kind, explainer_id, name)


def generative_session_folder(session_id: int) -> str:
    return join(GENERATIVE, session_id)


def generative_process_folder(session_id: int, process_id: int) -> str:
    return join(GENERATIVE, session_id, process_id)


def generative_payload(session_id: int, process_id: int, name: str) -> str:
    return join(GENERATIVE, session_id, process_id, name)


def is_row_folder(rel: str) -> bool:
    """Whether ``rel`` is a row's own layout folder (``runs/12``): absent until written to."""
    parts = rel.split("/")
    if parts[0] == EXPLAINERS:
        return len(parts) == 3 and parts[1] in EXPLAINER_KINDS and parts[2].isdigit()
    if parts[0] == GENERATIVE:
        return 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts[1:])
    return len(parts) == 2 and parts[0] in MANAGED_ROOTS and parts[1].isdigit()


def row_folder_of(rel: str) -> str | None:
    """The row folder (``runs/12``) that ``rel`` is or lies under; None when no row owns it
    by the layout (a managed root itself, ``db.sqlite``, ``backups/...``, ``../x``)."""
    parts = rel.split("/")
    for end in range(2, min(len(parts), 3) + 1):
        candidate = "/".join(parts[:end])
        if is_row_folder(candidate):
            return candidate
    return None


def within(rel: str, folder: str) -> bool:
    """Whether the home-relative ``rel`` is ``folder`` or lies under it (lexically)."""
    return rel == folder or rel.startswith(folder + "/")


# -- folders of the home ------------------------------------------------------------------------


def trash(home: Path) -> Path:
    """Where deleted files wait for the background thread that frees them."""
    return home / TRASH


def backups(home: Path) -> Path:
    return home / BACKUPS
