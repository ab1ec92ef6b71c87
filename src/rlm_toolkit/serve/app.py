"""The OpenAI-compatible HTTP server (Starlette): /v1/chat/completions and /v1/models.

    rlm serve --model openai/gpt-4o-mini          # then any OpenAI client at :8000/v1
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import RLMError
from .service import Service
from .wire import WireError, chunk, completion_body, new_id, parse_request

SESSION_HEADER = "x-rlm-session"


def _error(exc: WireError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WireError(413, f"the request body is {int(declared):,} bytes, over this server's "
                        f"limit of {limit:,}: send less, or start the server with a larger "
                        "--max-body-mb", code="request_too_large")
    data = bytearray()
    async for part in request.stream():
        data += part
        if len(data) > limit:
            raise WireError(413, f"the request body is over this server's limit of {limit:,} "
                            "bytes: send less, or start the server with a larger --max-body-mb",
                            code="request_too_large")
    return bytes(data)


def create_app(service: Service) -> Starlette:
    """The ASGI app serving `service`."""
    key = service.options.api_key

    def authorised(request: Request) -> bool:
        if key is None:
            return True
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), key.encode())

    def unauthorised() -> JSONResponse:
        return _error(WireError(401, "missing or wrong API key: send Authorization: Bearer "
                                "KEY", code="invalid_api_key"))

    async def models(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "rlm_toolkit"}
                for name in service.model_names()]
        return JSONResponse({"object": "list", "data": data})

    async def completions(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        try:
            chat = parse_request(await _read_body(request, service.options.max_body_bytes))
            session_id = request.headers.get(SESSION_HEADER) or chat.user
            if chat.stream:
                service.rlm_for(chat.model)  # an unknown model is refused before streaming
                return StreamingResponse(_events(service, chat, session_id),
                                         media_type="text/event-stream")
            reply = await service.answer(chat, session_id)
        except WireError as exc:
            return _error(exc)
        except RLMError as exc:
            return _error(WireError(502, f"the model failed: {exc}", kind="api_error"))
        return JSONResponse(completion_body(new_id(), chat.model, reply.text, reply.usage,
                                            reply.finish, reply.extra))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await service.aclose()

    return Starlette(routes=[
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ], lifespan=lifespan)


async def _events(service: Service, chat: Any, session_id: str | None) -> AsyncIterator[str]:
    """The streamed reply: role, progress (as reasoning), tokens or the answer, the end."""
    cid, model = new_id(), chat.model
    yield chunk(cid, model, {"role": "assistant", "content": ""})
    streamed = False
    async for kind, value in service.stream(chat, session_id):
        if kind == "progress":
            yield chunk(cid, model, {"reasoning_content": value})
        elif kind == "token":
            streamed = True
            yield chunk(cid, model, {"content": value})
        elif kind == "error":
            yield f"data: {json.dumps(value.body())}\n\n"
        else:
            reply = value
            if not streamed:  # an RLM answer, or a model that did not stream
                yield chunk(cid, model, {"content": reply.text})
            yield chunk(cid, model, {}, reply.finish)
            if chat.include_usage:
                yield chunk(cid, model, {}, usage=reply.usage, choices=False)
    yield "data: [DONE]\n\n"
