"""``python -m artclf.tune search=train_random study=NAME n_trials=16 [overrides]``: a
resumable, prunable Optuna study whose trials are tracked runs (see ``artclf.training.tuning``).

Running the same command again continues the study; two processes with the same study and
storage share its trials.
"""

from __future__ import annotations

import sys

from optuna.trial import TrialState

from artclf.runtime.cli import run_or_exit
from artclf.training.tuning import Outcome, compose, tune


def report(outcome: Outcome) -> str:
    study = outcome.study
    counts = ", ".join(
        f"{outcome.count(state)} {state.name.lower()}"
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    )
    lines = [f"study {study.study_name}: {counts}"]
    if outcome.count(TrialState.COMPLETE):
        best = study.best_trial
        values = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()
        )
        lines.append(f"best trial #{best.number}: {best.value:.4f} with {values}")
    if outcome.parent_run_id:
        lines.append(f"MLflow study run {outcome.parent_run_id} (its trials are child runs)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    overrides = sys.argv[1:] if argv is None else argv
    outcome = run_or_exit(lambda: tune(compose(overrides)))
    print(report(outcome))


if __name__ == "__main__":
    main()
