"""Two promotions at once: ``@champion`` is compare-and-set, so exactly one wins, the other
says it lost and why, and only the winner's description claims the win."""

from __future__ import annotations

import threading
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from artclf.tracking.registry import CHAMPION, PromotionLost, set_champion


@pytest.fixture
def client(tmp_path: Path, monkeypatch) -> MlflowClient:
    """A store with model ``m`` of three versions, as this process's tracking store."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", source=str(tmp_path))
    return client


def test_concurrent_promotions_have_one_winner(client: MlflowClient) -> None:
    client.set_registered_model_alias("m", CHAMPION, "1")

    start, outcome = threading.Barrier(2), {}

    def promote(version: str) -> None:
        start.wait()
        try:
            set_champion("m", version, f"Promoted v{version}", expected="1")
            outcome[version] = "won"
        except PromotionLost as lost:
            outcome[version] = str(lost)

    threads = [threading.Thread(target=promote, args=(v,)) for v in ("2", "3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [v for v, said in outcome.items() if said == "won"]
    assert len(winners) == 1, outcome
    (loser,) = set(outcome) - set(winners)
    assert "was not promoted" in outcome[loser] and "moved to v" in outcome[loser]
    assert str(client.get_registered_model("m").aliases[CHAMPION]) == winners[0]
    assert client.get_model_version("m", winners[0]).description.startswith("Promoted")
    assert not client.get_model_version("m", loser).description


def test_a_stale_comparison_does_not_promote(client: MlflowClient) -> None:
    client.set_registered_model_alias("m", CHAMPION, "2")  # moved since v3 was compared to v1
    with pytest.raises(PromotionLost, match="moved to v2 while v3 was compared with v1"):
        set_champion("m", "3", "Promoted v3", expected="1")
    assert str(client.get_registered_model("m").aliases[CHAMPION]) == "2"
