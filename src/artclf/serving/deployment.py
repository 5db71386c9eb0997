"""The versions being served, kept in step with the registry without a restart.

A thread polls the aliases every ``poll_seconds``; when ``@champion`` or ``@challenger`` names
another version, that version is loaded beside the serving ones and then swapped in with one
assignment of an immutable ``Deployment``. A batch reads ``current`` once, so every request is
answered whole by the versions of one moment: none fails or waits for a load."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from mlflow.tracking import MlflowClient

from artclf.serving.slots import Slot, load_slot
from artclf.tracking.registry import model_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    champion: Slot
    challenger: Slot | None = None

    def slots(self) -> list[Slot]:
        return [self.champion, *([self.challenger] if self.challenger else [])]


class Deployments:
    """``current`` is the deployment to answer with; ``start`` loads it and starts polling."""

    def __init__(
        self, champion: str, challenger: str | None, poll_seconds: float, kind: str | None = None
    ) -> None:
        """``kind``: the kind of model the routes were set up for (``serving.kinds``); an
        alias moved to a version of another kind is not followed. None: the champion's."""
        self.uris = (champion, challenger)
        self.poll_seconds = poll_seconds
        self.client = MlflowClient()
        self._stop = threading.Event()
        self.kind = kind
        self.current = self._resolve(None)
        self.kind = self.current.champion.kind

    def start(self) -> None:
        threading.Thread(target=self._poll, name="artclf-alias-poll", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception as error:  # a store hiccup: keep serving, try again next time
                log.warning("alias poll failed, serving on: %s", str(error).splitlines()[0])

    def refresh(self) -> bool:
        """Swap in the versions the aliases name now; whether anything changed."""
        latest = self._resolve(self.current)
        if latest == self.current:
            return False
        before = ", ".join(f"{s.uri} v{s.version}" for s in self.current.slots())
        self.current = latest
        after = ", ".join(f"{s.uri} v{s.version}" for s in latest.slots())
        log.warning("now serving %s (was %s)", after, before)
        return True

    def _resolve(self, serving: Deployment | None) -> Deployment:
        """The deployment the registry names, reusing the loaded slots of ``serving`` (or of
        the other alias, after a promotion) when their version is unchanged."""
        loaded = {(s.name, s.version): s for s in (serving.slots() if serving else [])}
        champion_uri, challenger_uri = self.uris
        champion = self._slot(champion_uri, loaded, self.kind)
        if challenger_uri is None:
            return Deployment(champion)
        try:
            challenger = self._slot(challenger_uri, loaded, champion.kind)
        except ValueError as gone:  # the alias was deleted: the champion answers everyone
            if serving is None:
                raise
            log.warning("%s; serving the champion alone", str(gone).split(" (")[0])
            challenger = None
        return Deployment(champion, challenger)

    def _slot(self, uri: str, loaded: dict[tuple[str, str], Slot], kind: str | None) -> Slot:
        version = model_version(uri, self.client)
        slot = loaded.get((version.name, str(version.version)))
        if slot is None:
            return load_slot(uri, version, self.client, kind)
        return replace(slot, uri=uri)  # loaded already, maybe under the other alias
