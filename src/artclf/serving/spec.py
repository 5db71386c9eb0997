"""The HTTP side (LitServe's API process): ``POST /predict``, ``POST /feedback``,
``GET /metadata``. Each reads and checks its request here, queues it for the inference worker
(which batches ``/predict`` requests dynamically) and turns the worker's answer into JSON.

A LitServe ``LitSpec`` rather than its default route: the default reads the body itself (a
bad JSON body becomes a 500) and hands the worker the body only, while routing needs the
client's ``X-Client-Id`` header or address."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from litserve.specs.base import LitSpec
from litserve.utils import LitAPIStatus, ResponseBufferItem
from starlette.requests import Request

from artclf.serving.inputs import (
    RequestError,
    feedback_inputs,
    json_object,
    predict_inputs,
    read_body,
)
from artclf.serving.routing import CLIENT_HEADER, client_key


class ServingSpec(LitSpec):
    def __init__(self) -> None:
        super().__init__()
        self.api_path = "/predict"
        self.add_endpoint("/predict", self.predict, ["POST"])
        self.add_endpoint("/feedback", self.feedback, ["POST"])
        self.add_endpoint("/metadata", self.metadata, ["GET"])

    def decode_request(self, request: dict, context_kwargs: dict | None = None) -> dict:
        return request

    def encode_response(self, output: dict, context_kwargs: dict | None = None) -> dict:
        return output

    async def predict(self, request: Request) -> JSONResponse:
        async def payload() -> dict[str, Any]:
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
            return {"op": "feedback", **feedback_inputs(json_object(await read_body(request)))}

        return await self._answer(payload)

    async def metadata(self) -> JSONResponse:
        async def payload() -> dict[str, Any]:
            return {"op": "metadata"}

        return await self._answer(payload)

    async def _answer(self, payload: Callable[[], Awaitable[dict[str, Any]]]) -> JSONResponse:
        """The worker's answer as JSON; a refused request as its status and one line."""
        try:
            answer = await self._ask(await payload())
            if "error" in answer:
                raise RequestError(answer["error"]["status"], answer["error"]["detail"])
        except RequestError as error:
            return JSONResponse({"detail": error.detail}, status_code=error.status)
        return JSONResponse(answer)

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
