"""Hostile images and file names are one line each, never a crash or a memory blow-up: a
decompression bomb is refused from its header wherever user images are read (predict, the
app's upload check, datasets, style transfer), odd but valid images (16-bit grey, EXIF-rotated,
30000×1) read as a viewer shows them, and a latin-1 file name is skipped and counted."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from artclf.app.classify import UploadError, check_upload
from artclf.data.images import open_rgb, read_square_rgb
from artclf.describe import run
from artclf.predict import predict
from artclf.style.errors import StyleTransferError
from artclf.style.image_io import read_image_tensor
from conftest import compose_cfg, train_tiny
from fixtures import make_ai_artbench, make_artgan, write_latin1_named

#: The default pixel limit (artclf.data.images.MAX_PIXELS), as the messages print it.
LIMIT = 40_000_000
#: A one-colour PNG of 13,300² pixels: a few hundred KB on disk, 177 MP (530 MB as RGB) decoded.
BOMB_SIDE = 13_300
BOMB_PIXELS = f"{BOMB_SIDE**2:,}"


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("L", (BOMB_SIDE, BOMB_SIDE), 90).save(path, optimize=True)
    assert path.stat().st_size < 2**20
    return path


@pytest.fixture
def never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding any image over the limit fails the test: the bomb must be refused from its
    header, before a byte of pixels is inflated."""
    load = ImageFile.ImageFile.load

    def guarded(image: ImageFile.ImageFile):
        assert image.width * image.height <= LIMIT, f"decoded {image.size}"
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", guarded)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """A one-epoch simple CNN on the tiny embedded dataset, trained once for this module."""
    home = tmp_path_factory.mktemp("trained")
    train_tiny(home, shared_cache, "trainer.max_epochs=1")
    ckpt = next((home / "train" / "checkpoints").glob("epoch*.ckpt"))
    return {"home": home, "ckpt": ckpt}


def predict_folder(trained: dict, folder: Path) -> dict[str, dict]:
    cfg = compose_cfg("predict", trained["home"], f"ckpt_path={trained['ckpt']}", f"input={folder}")
    return {Path(r["path"]).name: r["predictions"] for r in predict(cfg)}


def noise(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_predict_refuses_a_bomb_in_one_line_without_decoding_it(
    trained: dict, bomb: Path, never_decoded: None, tmp_path: Path, caplog
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    Image.fromarray(noise(0, (40, 40, 3))).save(folder / "fine.png")
    shutil.copy(bomb, folder / "bomb.png")
    assert list(predict_folder(trained, folder)) == ["fine.png"]
    (line,) = [r.getMessage() for r in caplog.records if "bomb.png" in r.getMessage()]
    assert BOMB_PIXELS in line and f"{LIMIT:,}" in line and "\n" not in line


def test_app_upload_of_a_bomb_is_one_line_without_decoding_it(
    bomb: Path, never_decoded: None
) -> None:
    with pytest.raises(UploadError) as refused:
        check_upload("bomb.png", bomb.read_bytes())
    message = str(refused.value)
    assert message.startswith("bomb.png ") and "\n" not in message
    assert BOMB_PIXELS in message and f"{LIMIT:,}" in message


def test_bomb_in_a_dataset_is_skipped_and_counted_without_decoding_it(
    make_cfg, bomb: Path, never_decoded: None, tmp_path: Path
) -> None:
    made = make_ai_artbench(tmp_path / "dl", train_per_folder=2, test_per_folder=1)
    shutil.copy(bomb, made["dataset"] / "train" / "AI_LD_baroque" / "bomb.png")
    cfg = make_cfg(
        "data=ai_artbench", f"data.root={tmp_path / 'dl'}", "output=json", config_name="describe"
    )
    report = run(cfg)
    assert report["skipped"]["too_large"] == 1
    assert sum(sum(split.values()) for split in report["counts"].values()) == (
        made["train"] + made["test"]
    )


def test_style_transfer_refuses_a_bomb_in_one_line(bomb: Path, never_decoded: None) -> None:
    with pytest.raises(StyleTransferError, match=rf"bomb\.png.*{BOMB_PIXELS}.*{LIMIT:,}"):
        read_image_tensor(str(bomb), 256)


def test_16_bit_png_reads_as_its_8_bit_twin(trained: dict, tmp_path: Path) -> None:
    grey = noise(1, (48, 48))
    folder = tmp_path / "inputs"
    folder.mkdir()
    Image.fromarray(grey).save(folder / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "grey16.png")  # 0..65535
    assert Image.open(folder / "grey16.png").mode.startswith("I")
    predictions = predict_folder(trained, folder)
    assert predictions["grey16.png"] == predictions["grey8.png"]
    style8, style16 = (read_image_tensor(str(folder / n), 32) for n in ("grey8.png", "grey16.png"))
    assert np.array_equal(style16.numpy(), style8.numpy())


def test_exif_rotated_jpeg_reads_upright(tmp_path: Path) -> None:
    """A phone's portrait: pixels stored sideways, EXIF orientation 6 (turn 90° clockwise)."""
    y, x = np.mgrid[:48, :32]
    # smooth (little JPEG noise) and not symmetric (a wrong turn shows)
    upright = np.stack([x * 8, y * 5, 255 - y * 5], axis=-1).astype(np.uint8)
    Image.fromarray(upright).save(tmp_path / "upright.jpg", quality=95, subsampling=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    stored.save(tmp_path / "phone.jpg", quality=95, subsampling=0, exif=exif.tobytes())
    reference = np.asarray(open_rgb(tmp_path / "upright.jpg"), np.int16)
    turned = np.asarray(open_rgb(tmp_path / "phone.jpg"), np.int16)
    assert turned.shape == reference.shape == (48, 32, 3)
    assert np.abs(turned - reference).mean() < 2  # JPEG noise only
    square = (
        read_square_rgb(tmp_path / n, 16).astype(np.int16) for n in ("upright.jpg", "phone.jpg")
    )
    assert np.abs(next(square) - next(square)).mean() < 2
    style = read_image_tensor(str(tmp_path / "phone.jpg"), 48)
    assert tuple(style.shape[-2:]) == (48, 32)


def test_30000_by_1_image_is_classified_or_refused_in_one_line(tmp_path: Path) -> None:
    for name, size in (("wide.png", (30_000, 1)), ("tall.png", (1, 30_000))):
        Image.new("RGB", size, (10, 200, 30)).save(tmp_path / name)
        for policy in ("crop", "squash", "pad"):
            assert read_square_rgb(tmp_path / name, 32, policy).shape == (32, 32, 3)
        with pytest.raises(StyleTransferError, match=rf"{name}.*30000×1|{name}.*1×30000") as err:
            read_image_tensor(str(tmp_path / name))  # a style image: stretched to gigabytes
        assert "\n" not in str(err.value)


def test_latin1_file_name_in_a_wikiart_folder_is_skipped_and_counted(
    make_cfg, tmp_path: Path
) -> None:
    expected = make_artgan(tmp_path / "dl")
    write_latin1_named(tmp_path / "dl" / "wikiart" / "Baroque", 7, b"rembrandt_caf\xe9")
    cfg = make_cfg(
        "data=wikiart", f"data.root={tmp_path / 'dl'}", "output=json", config_name="describe"
    )
    report = run(cfg)
    assert report["skipped"]["bad_name"] == 1
    assert {s: report["counts"][s] for s in ("train", "val")} == expected["style"]
