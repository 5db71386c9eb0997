"""Items 11-13: stylize keys MLflow accepts for any file name, a bounded stylize size, and a
file where an output folder should be."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from fault_helpers import runs_in
from PIL import Image

from artclf.explain import explain
from artclf.style.errors import StyleTransferError
from artclf.stylize import stylize
from artclf.tracking.images import run_key


@pytest.mark.parametrize("name", ["señora__画", "a b&c", "plain_name-1.0"])
def test_image_keys_are_accepted_by_mlflow(tmp_path: Path, name: str) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run():
        mlflow.log_image(Image.new("RGB", (4, 4)), key=f"grid/{run_key(name)}", step=0)
        mlflow.log_metric(f"{run_key(name)}/loss/style", 1.0)
    assert run_key("画") != run_key("絵")
    assert run_key("plain_name-1.0") == "plain_name-1.0"


def test_huge_stylize_size_is_refused_before_any_run(make_cfg, tmp_path: Path) -> None:
    image = tmp_path / "c.png"
    Image.new("RGB", (8, 8)).save(image)
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(
        f"content={image}",
        f"style={image}",
        "size=8000",
        f"logger.tracking_uri=sqlite:///{store}",
        config_name="stylize",
    )
    with pytest.raises(StyleTransferError, match="max_size=2048"):
        stylize(cfg)
    assert runs_in(store) == []


def test_a_file_as_explain_output_dir_is_one_clear_error(make_cfg, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    cfg = make_cfg(
        f"ckpt_path={tmp_path / 'none.ckpt'}",
        f"input={tmp_path}",
        f"output_dir={tmp_path / 'afile'}",
        config_name="explain",
    )
    with pytest.raises(NotADirectoryError, match=r"output_dir .* is a file"):
        explain(cfg)
