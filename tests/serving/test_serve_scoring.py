"""The inference worker's side, in-process: a batch of queued requests answered by the
versions the aliases name, with exactly ``artclf.predict``'s numbers; the challenger's share,
shadow scores recorded and never returned, one bad request alone in its error, and the
versions swapped when an alias moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_helpers import (
    NAME,
    ask,
    assert_same,
    champion,
    client_on,
    predicted,
    tiny_store,
    use_store,
)

from artclf.serving.deployment import Deployments
from artclf.serving.scoring import answer_batch
from artclf.serving.settings import Settings
from artclf.tracking.registry import rollback_champion, set_champion

CHAMPION_URI, CHALLENGER_URI = f"models:/{NAME}@champion", f"models:/{NAME}@challenger"


class Kept:
    """A recorder that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def put(self, record: dict) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    return tiny_store(tmp_path_factory, shared_cache)


@pytest.fixture(scope="module")
def deployments(store: dict, shared_cache: Path) -> Deployments:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        use_store(store, patch)
        return Deployments(CHAMPION_URI, CHALLENGER_URI, poll_seconds=60)


def test_answers_are_predicts_numbers_for_every_image(
    store: dict, deployments: Deployments, monkeypatch
) -> None:
    use_store(store, monkeypatch)
    images = store["images"][:3]
    settings = Settings(CHAMPION_URI, CHALLENGER_URI, split=0.5, top_k=3)
    requests = [
        ask(*images, client=client_on("champion", 0.5)),
        ask(images[0], client=client_on("challenger", 0.5), top_k=2),
    ]
    first, second = answer_batch(deployments.current, requests, settings, Kept())
    assert (first["version"], first["alias"], first["route"]) == ("1", "champion", "champion")
    assert_same(first["predictions"], [predicted(store, "1", image, 3) for image in images])
    assert (second["version"], second["route"]) == ("2", "challenger")
    assert_same(second["predictions"], [predicted(store, "2", images[0], 2)])
    assert first["request_id"] == requests[0]["request_id"]


def test_shadow_scores_are_recorded_never_returned(store: dict, deployments: Deployments) -> None:
    settings = Settings(CHAMPION_URI, CHALLENGER_URI, split=0.0, shadow=True)
    kept = Kept()
    request = ask(*store["images"][:2])
    (answer,) = answer_batch(deployments.current, [request], settings, kept)
    assert answer["route"] == "champion" and "shadow" not in str(answer)
    routes = sorted((r["route"], r["version"], r["index"]) for r in kept.records)
    assert routes == [
        ("champion", "1", 0),
        ("champion", "1", 1),
        ("shadow", "2", 0),
        ("shadow", "2", 1),
    ]
    record = kept.records[0]
    assert record["request_id"] == request["request_id"]
    assert len(record["image_sha256"]) == 64 and record["image_bytes"] == len(request["images"][0])
    assert "images" not in record and record["latency_ms"] > 0
    assert len(record["embedding"]) == min(64, record["embedding_dim"])
    (task,) = record["probabilities"]
    assert abs(sum(record["probabilities"][task]) - 1) < 1e-4


def test_a_bad_request_fails_alone_in_its_batch(store: dict, deployments: Deployments) -> None:
    settings = Settings(CHAMPION_URI)
    good = ask(store["images"][0])
    truncated = store["images"][1].read_bytes()[:200]
    bad = ask(store["images"][0], truncated)
    answers = answer_batch(deployments.current, [good, bad, good], settings, Kept())
    assert answers[0]["predictions"] == answers[2]["predictions"]
    assert answers[1]["error"]["status"] == 422
    assert answers[1]["error"]["detail"].startswith("image 1 does not decode")


def test_metadata_and_feedback_see_the_served_versions(
    store: dict, deployments: Deployments
) -> None:
    settings = Settings(CHAMPION_URI, CHALLENGER_URI, split=0.1)
    kept = Kept()
    (card,) = answer_batch(deployments.current, [{"op": "metadata"}], settings, kept)
    assert card["champion"]["version"] == "1" and card["challenger"]["version"] == "2"
    classes = card["champion"]["classes"]["origin_style"]
    assert len(classes) == 20 and card["split"] == 0.1
    assert 0 <= card["champion"]["test_accuracy"] <= 1 and "/runs/" in card["champion"]["run_link"]
    note = {"op": "feedback", "request_id": "a" * 32, "index": 0, "task": None}
    good, bad = answer_batch(
        deployments.current,
        [{**note, "label": classes[3]}, {**note, "label": "Cubism"}],
        settings,
        kept,
    )
    assert good == {"recorded": True, "request_id": "a" * 32}
    assert bad["error"]["status"] == 400 and "not a class of origin_style" in bad["error"]["detail"]
    assert [(r["kind"], r["label"], r["task"]) for r in kept.records] == [
        ("feedback", classes[3], "origin_style")
    ]


def test_a_moved_alias_is_swapped_in_and_rolled_back(store: dict, monkeypatch) -> None:
    use_store(store, monkeypatch)
    alone = Deployments(CHAMPION_URI, None, poll_seconds=60)
    paired = Deployments(CHAMPION_URI, CHALLENGER_URI, poll_seconds=60)
    assert alone.refresh() is False and paired.refresh() is False
    before = alone.current.champion
    assert champion(store) == "1"
    try:
        set_champion(NAME, "2", "test promotion", expected="1")
        assert alone.refresh() is True and paired.refresh() is True
        assert alone.current.champion.version == "2"  # loaded, then swapped in
        assert paired.current.champion.version == paired.current.challenger.version == "2"
        # the challenger's network already loaded now answers as the champion too
        assert paired.current.champion.module is paired.current.challenger.module
    finally:
        assert rollback_champion(NAME) == "1"
    assert alone.refresh() is True and alone.current.champion.version == "1"
    assert alone.current.champion.module is not before.module  # v1 was let go meanwhile
