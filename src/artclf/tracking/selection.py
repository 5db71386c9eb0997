"""Which runs a report or a sweep's summary is about: a sweep parent's children, a list of
run ids, or an experiment's training runs (by default the experiment of the latest run)."""

from __future__ import annotations

from dataclasses import dataclass

from artclf.tracking.queries import PARENT_TAG, Client, Run, child_runs


@dataclass
class Selection:
    """The runs to report on, and the sweep parent they share (None for other selections)."""

    runs: list[Run]
    parent_id: str | None
    title: str


def _training(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.data.tags.get("artclf.role") != "sweep"]


def _latest_experiment(client: Client, experiment: str | None) -> str:
    """The id of ``experiment``, or of the experiment that holds the store's latest run."""
    experiments = client.search_experiments()
    if experiment:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            names = ", ".join(sorted(e.name for e in experiments))
            raise ValueError(f"no experiment {experiment!r} in the store (there: {names})")
        experiments = [found]
    ids = [e.experiment_id for e in experiments]
    latest = client.search_runs(ids, max_results=1, order_by=["attributes.start_time DESC"])
    if not latest:
        raise ValueError("the store has no runs yet; train one: python -m artclf.train")
    return latest[0].info.experiment_id


def select_runs(
    client: Client,
    experiment: str | None = None,
    parent: str | None = None,
    run_ids: list[str] | None = None,
) -> Selection:
    """Runs of a sweep parent, of a list of ids, or of an experiment (by default the one with
    the latest run): training runs only (sweep parents and evaluations are left out)."""
    if parent:
        runs = child_runs(client, parent)
        title = f"sweep {client.get_run(parent).info.run_name}"
    elif run_ids:
        runs = [client.get_run(r) for r in run_ids]
        title = f"{len(runs)} runs"
    else:
        experiment_id = _latest_experiment(client, experiment)
        runs = client.search_runs([experiment_id], "tags.`artclf.task` = 'train'")
        title = f"experiment {client.get_experiment(experiment_id).name}"
    runs = _training(runs)
    if not parent:  # a sweep's children are one kind of run (stylize sweeps too)
        runs = [r for r in runs if r.data.params.get("task_name", "train") == "train"]
    unfinished = sum(r.info.status != "FINISHED" for r in runs)
    runs = [r for r in runs if r.info.status == "FINISHED"]
    if not runs:
        raise ValueError(f"{title}: no finished training runs to report on")
    if unfinished:
        title += f" ({unfinished} unfinished or failed runs left out)"
    parent_ids = {r.data.tags.get(PARENT_TAG) for r in runs}
    return Selection(runs, parent or (parent_ids.pop() if len(parent_ids) == 1 else None), title)
