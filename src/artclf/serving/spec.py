"""The HTTP side (LitServe's API process): ``POST /predict``, ``POST /feedback``,
``POST /stylize``, ``GET /metadata``. Each reads and checks its request here, queues it for the
inference worker (which batches ``/predict`` requests dynamically) and turns the worker's
answer into JSON, or into the PNG ``/stylize`` drew. A route the served kind of model does not
take (``/predict`` of a style model, ``/stylize`` of a classifier) is a 409 naming the route
that does, before the body is read.

A LitServe ``LitSpec`` rather than its default route: the default reads the body itself (a
bad JSON body becomes a 500) and hands the worker the body only, while routing needs the
client's ``X-Client-Id`` header or address."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse, Response
from litserve.specs.base import LitSpec
from litserve.utils import LitAPIStatus, ResponseBufferItem
from starlette.requests import Request

from artclf.serving.inputs import (
    RequestError,
    feedback_inputs,
    json_object,
    predict_inputs,
    read_body,
    stylize_inputs,
)
from artclf.serving.kinds import CLASSIFIER, DESCRIPTIONS, ROUTES
from artclf.serving.routing import CLIENT_HEADER, client_key

#: The headers of a ``/stylize`` PNG that say who drew it (JSON answers hold the same keys).
STYLIZED_HEADERS = {
    "request_id": "X-Request-Id",
    "model": "X-Model",
    "version": "X-Model-Version",
    "alias": "X-Model-Alias",
}


class ServingSpec(LitSpec):
    """``kind`` and ``model``: what is served (``serving.kinds``; its URI, for messages)."""

    def __init__(self, kind: str = CLASSIFIER, model: str = "the served model") -> None:
        super().__init__()
        self.kind, self.model = kind, model
        self.api_path = "/predict"
        self.add_endpoint("/predict", self.predict, ["POST"])
        self.add_endpoint("/feedback", self.feedback, ["POST"])
        self.add_endpoint("/stylize", self.stylize, ["POST"])
        self.add_endpoint("/metadata", self.metadata, ["GET"])

    def decode_request(self, request: dict, context_kwargs: dict | None = None) -> dict:
        return request

    def encode_response(self, output: dict, context_kwargs: dict | None = None) -> dict:
        return output

    async def predict(self, request: Request) -> JSONResponse:
        async def payload() -> dict[str, Any]:
            self._takes("/predict")
            images, top_k = await predict_inputs(request)
            address = request.client.host if request.client else None
            return {
                "op": "predict",
                "images": images,
                "top_k": top_k,
                "client": client_key(request.headers.get(CLIENT_HEADER), address),
                "request_id": uuid.uuid4().hex,
                "received": time.time(),
            }

        return await self._answer(payload)

    async def feedback(self, request: Request) -> JSONResponse:
        async def payload() -> dict[str, Any]:
            self._takes("/feedback")
            return {"op": "feedback", **feedback_inputs(json_object(await read_body(request)))}

        return await self._answer(payload)

    async def stylize(self, request: Request) -> Response:
        """The PNG, or JSON with it base64 (``"image"``) when the client accepts JSON."""

        async def payload() -> dict[str, Any]:
            self._takes("/stylize")
            content, style, options = await stylize_inputs(request)
            return {
                "op": "stylize",
                "content": content,
                "style": style,
                "options": options,
                "request_id": uuid.uuid4().hex,
                "received": time.time(),
            }

        as_json = "application/json" in request.headers.get("accept", "")
        return await self._answer(payload, lambda answer: stylized(answer, as_json))

    async def metadata(self) -> JSONResponse:
        async def payload() -> dict[str, Any]:
            return {"op": "metadata"}

        return await self._answer(payload)

    def _takes(self, route: str) -> None:
        """A 409 for a route another kind of model answers."""
        routes = ROUTES[self.kind]
        if route not in routes:
            raise RequestError(
                409,
                f"{self.model} is {DESCRIPTIONS[self.kind]}: POST {routes[0]} answers with it, "
                f"not {route}",
            )

    async def _answer(
        self,
        payload: Callable[[], Awaitable[dict[str, Any]]],
        respond: Callable[[dict[str, Any]], Response] = JSONResponse,
    ) -> Response:
        """The worker's answer as ``respond`` makes it (JSON); a refused request as its status
        and one line."""
        try:
            answer = await self._ask(await payload())
            if "error" in answer:
                raise RequestError(answer["error"]["status"], answer["error"]["detail"])
        except RequestError as error:
            return JSONResponse({"detail": error.detail}, status_code=error.status)
        return respond(answer)

    async def _ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue ``payload`` for the inference worker and wait for its answer (as LitServe's
        own specs do)."""
        uid = uuid.uuid4().hex
        event = asyncio.Event()
        self.response_buffer[uid] = ResponseBufferItem(event=event)
        self.request_queue.put_nowait((self.response_queue_id, uid, time.monotonic(), payload))
        await event.wait()
        response, status = self.response_buffer.pop(uid).response
        if status == LitAPIStatus.OK:
            return response
        if isinstance(response, HTTPException):  # LitServe's own: a request that timed out
            raise RequestError(response.status_code, str(response.detail))
        raise RequestError(500, "the model failed on this request; the server log says why")


def stylized(answer: dict[str, Any], as_json: bool) -> Response:
    """The drawn PNG as the body, who drew it in ``X-`` headers; or all of it as JSON."""
    png = answer.pop("png")
    if as_json:
        return JSONResponse({**answer, "image": base64.b64encode(png).decode()})
    headers = {header: str(answer[key]) for key, header in STYLIZED_HEADERS.items() if answer[key]}
    return Response(png, media_type="image/png", headers=headers)
