"""What ``python -m artclf.feedback export`` does: the labels people gave on served images
become a dataset folder that training reads (``data.feedback``).

Each feedback record is joined to the prediction record of its request and image (the
answered one, not a shadow score), which names the image by its sha256; the bytes are those a
serving run kept (``serve.keep_images``, or sent by the client with its feedback). Written as
``<out>/<task>/<label>/<sha256>.<ext>`` plus ``feedback.csv`` (``artclf.data.sources.feedback``
reads it), one image per head: the latest label wins. Feedback whose image was never kept is
counted, not exported. The folder is logged as an MLflow dataset input of a run in the
experiment ``artclf-feedback``."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from artclf.data.sources.feedback import MANIFEST, MANIFEST_COLUMNS, is_feedback_folder
from artclf.monitoring.records import moment
from artclf.serving.reading import kept_images, read_feedback, read_requests
from artclf.serving.routing import SHADOW

#: Why a label is not exported, in the order the summary line names them.
SKIPS = {
    "not_kept": "never kept (serve.keep_images=false and no image sent with the feedback)",
    "no_request": "on a request the store has no record of",
    "mismatch": "sent with an image other than the one scored",
    "superseded": "replaced by a later label of the same image",
}


@dataclass(frozen=True)
class Export:
    folder: Path
    manifest: pd.DataFrame
    skipped: Counter
    run_id: str | None

    def summary(self) -> str:
        """Where it wrote, how many images of how many classes, and what was left out."""
        table = self.manifest
        classes = table.groupby("task")["label"].nunique().sum() if len(table) else 0
        line = f"wrote {len(table)} images ({classes} classes) to {self.folder}"
        left = [f"{n} {SKIPS[reason]}" for reason, n in self.skipped.items() if n]
        return line + (f"; left out {', '.join(left)}" if left else "")


def export(cfg: DictConfig) -> Export:
    """The export ``cfg`` describes (``conf/feedback.yaml``)."""
    if "tracking_uri" not in cfg.logger:
        raise ValueError(
            "logger=none leaves no store to read the feedback from; keep logger=mlflow and set "
            "logger.enabled=false not to log the export run"
        )
    uri = str(cfg.logger.tracking_uri)
    labelled, skipped = labelled_images(uri, cfg.model_name, moment(cfg.since, "since"))
    kept = kept_images(uri)
    found = labelled["sha256"].isin(kept)
    skipped["not_kept"] = int((~found).sum())
    folder = write_folder(labelled[found], kept, uri, Path(str(cfg.out)))
    manifest = pd.read_csv(folder / MANIFEST, dtype=object)  # as written: text
    run_id = log_export(cfg, folder, manifest, skipped) if cfg.logger.enabled else None
    return Export(folder, manifest, skipped, run_id)


def labelled_images(
    uri: str, model: str | None, since: pd.Timestamp | None
) -> tuple[pd.DataFrame, Counter]:
    """One row per (image, head) with its latest label (given at or after ``since``, on a
    request ``model`` answered), and the labels left out, by reason."""
    feedback = read_feedback(uri, since)
    requests = read_requests(uri)  # of any time: a request may come before its feedback's window
    answered = requests[requests["route"] != SHADOW].drop_duplicates(
        ["request_id", "index"], keep="last"
    )
    scored = answered[["request_id", "index", "image_sha256", "model", "version"]]
    joined = feedback.merge(
        scored.rename(columns={"image_sha256": "sha256"}), on=["request_id", "index"], how="left"
    )
    skipped: Counter = Counter({reason: 0 for reason in SKIPS})
    unknown = joined["sha256"].isna()
    skipped["no_request"] = int(unknown.sum())
    joined = joined[~unknown]
    if model is not None:
        joined = joined[joined["model"] == model]
    sent = joined["image_sha256"].notna()
    mismatch = sent & (joined["image_sha256"] != joined["sha256"])
    skipped["mismatch"] = int(mismatch.sum())
    source = sent.map({True: "client", False: "service"})
    joined = joined[~mismatch].assign(source=source[~mismatch])
    latest = joined.sort_values("time", kind="stable").drop_duplicates(
        ["sha256", "task"], keep="last"
    )
    skipped["superseded"] = len(joined) - len(latest)
    return latest.reset_index(drop=True), skipped


def write_folder(rows: pd.DataFrame, kept: dict[str, tuple[str, str]], uri: str, out: Path) -> Path:
    """``rows`` as ``<out>/<task>/<label>/<sha256>.<ext>`` and ``feedback.csv``, written beside
    ``out`` and moved into place whole (a previous export there is replaced)."""
    out = out.expanduser().resolve()
    if out.exists() and not is_feedback_folder(out) and any(out.iterdir()):
        raise ValueError(
            f"out={out} holds files that are not a feedback export; pass an empty or new folder"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    files = []
    with tempfile.TemporaryDirectory() as downloads:
        for sha256, group in rows.groupby("sha256", sort=True):
            run_id, artifact = kept[str(sha256)]
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=downloads, tracking_uri=uri
            )
            for row, (task, label) in group[["task", "label"]].iterrows():
                file = Path(str(task), str(label), Path(artifact).name)
                (temp / file.parent).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, temp / file)
                files.append((row, file.as_posix()))
    manifest = rows.assign(file=pd.Series(dict(files), dtype=object))
    manifest = manifest.sort_values(["task", "label", "sha256"])[MANIFEST_COLUMNS]
    manifest.to_csv(temp / MANIFEST, index=False)
    if out.exists():
        stale = out.parent / f".{out.name}.stale-{uuid.uuid4().hex[:8]}"
        os.rename(out, stale)
        shutil.rmtree(stale)
    os.rename(temp, out)
    return out


def log_export(cfg: DictConfig, folder: Path, manifest: pd.DataFrame, skipped: Counter) -> str:
    """A run of ``artclf-feedback``: the folder as its dataset input (the manifest as the
    dataset's rows, the label as its target), the counts as metrics, the manifest as a file."""
    from artclf.tracking import log_metrics, start_run
    from artclf.tracking.artifacts import log_files, tag_run
    from artclf.tracking.retry import retry_locked

    if not cfg.logger.run_name:
        name = f"export-{cfg.model_name or 'all'}"
        cfg = OmegaConf.merge(cfg, {"logger": {"run_name": name}})
    with start_run(cfg) as run:
        run_id = run.info.run_id
        with warnings.catch_warnings():  # MLflow registers its local source twice: ambiguous
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                manifest, source=str(folder), name=f"feedback/{cfg.model_name or 'all'}",
                targets="label",
            )  # fmt: skip
        retry_locked(mlflow.log_input, dataset, context="training")
        counts = {"feedback/images": len(manifest)}
        counts |= {f"feedback/skipped_{reason}": n for reason, n in skipped.items()}
        log_metrics(run_id, counts)
        log_files(run_id, [folder / MANIFEST])
        tag_run(run_id, {"artclf.feedback.folder": str(folder)})
    return run_id
