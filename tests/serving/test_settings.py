"""The service's options are checked before anything starts, each mistake one line naming the
fix; ``model=`` on the command line is the served model, not the network config group."""

from __future__ import annotations

import socket

import pytest
from omegaconf import OmegaConf

from artclf.serve import model_option
from artclf.serving.settings import Settings, check_address

CHAMPION = "models:/m@champion"


@pytest.mark.parametrize(
    ("serve", "says"),
    [
        ({"model": "???"}, "say which model to serve: model=models:/<name>@champion"),
        ({"model": "outputs/best.ckpt"}, "serve a registered model"),
        ({"model": CHAMPION, "challenger": "runs:/abc/model"}, "serve.challenger="),
        ({"model": CHAMPION, "split": 0.2}, "need serve.challenger"),
        ({"model": CHAMPION, "challenger": "models:/m@challenger", "split": 1.5}, "from 0 to 1"),
        ({"model": CHAMPION, "poll_seconds": 0}, "serve.poll_seconds=0; must be above 0"),
        ({"model": CHAMPION, "record": False, "keep_images": True}, "drop serve.record=false"),
    ],
)
def test_option_mistakes_are_one_line(serve: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings.from_config(OmegaConf.create(serve))


def test_good_options_and_the_model_alias() -> None:
    serve = {"model": CHAMPION, "challenger": "models:/m/3", "split": 0.1, "shadow": True}
    settings = Settings.from_config(OmegaConf.create(serve))
    assert (settings.challenger, settings.split, settings.top_k) == ("models:/m/3", 0.1, 5)
    assert model_option(["model=models:/m@champion", "port=9000"]) == [
        "serve.model=models:/m@champion",
        "port=9000",
    ]


def test_an_address_is_refused_before_a_run_opens() -> None:
    with pytest.raises(ValueError, match=r"host=localhost; one of 127\.0\.0\.1"):
        check_address("localhost", 8000)
    with pytest.raises(ValueError, match="port=80; from 1024"):
        check_address("127.0.0.1", 80)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=r"in use.*pass port=<another>"):
            check_address("127.0.0.1", port)
