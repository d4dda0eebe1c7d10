"""The one module that speaks HTTP to model servers.

It talks to OpenAI-compatible chat servers: llama.cpp's `llama-server`, llama-cpp-python's
`python -m llama_cpp.server`, vLLM and Ollama. Plain Python, standard library only.

Every failure is a `RemoteError` whose `status` the chain records as the attempt's outcome
("timeout", "error" or "not_found") and whose `reason` is a sentence for the person reading the
run history.

How an output constraint travels, per server (one constraint per request, because llama.cpp
refuses a grammar together with a schema, vLLM refuses two kinds of structured output, and
llama-cpp-python lets a `response_format` silently replace the grammar):

- a GBNF grammar goes in `grammar` (llama.cpp, llama-cpp-python) and in
  `structured_outputs.grammar` (vLLM). Ollama has no grammars: it answers unconstrained.
- a JSON schema alone goes in the OpenAI form
  `response_format: {"type": "json_schema", "json_schema": {"schema": ...}}`
  (llama.cpp, vLLM, Ollama). llama-cpp-python refuses that type, naming the types it knows;
  we then ask once more, in the time left, with its own form
  `{"type": "json_object", "schema": ...}`.
- given both, the grammar is sent: it is the tighter constraint.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from llm.generation import Generation

logger = logging.getLogger(__name__)

_CHAT_PATH = "/chat/completions"
_EXCERPT_CHARS = 200
_READ_CHUNK = 64 * 1024


class RemoteError(Exception):
    """A model server gave no usable answer; `status` is the attempt status, `reason` says why."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status  # "timeout", "error" or "not_found"
        self.reason = reason


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


class _Deadline:
    """One budget for a whole call, however many connects, reads or requests it takes."""

    def __init__(self, timeout: float):
        self.timeout = float(timeout)
        self.expires_at = time.monotonic() + self.timeout

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def error(self, url: str) -> RemoteError:
        seconds = round(self.timeout, 2)
        return RemoteError("timeout", f"timed out after {seconds} s waiting for {url}")


def chat(
    endpoint_url: str,
    model: str,
    messages: list[dict],
    *,
    grammar: str | None,
    json_schema: dict | None,
    max_tokens: int,
    temperature: float,
    timeout: float,
    api_key: str | None = None,
) -> Generation:
    """Ask the server at `endpoint_url` (like `http://host:8080/v1`) for one chat completion.

    The whole call, retries included, ends within `timeout` seconds or raises a "timeout"
    RemoteError. `load_ms` is always 0.0: a server loads its model before it takes requests.
    """
    base = _base_url(endpoint_url)
    url = base + _CHAT_PATH
    deadline = _Deadline(timeout)
    body = _chat_body(
        model,
        messages,
        grammar=grammar,
        json_schema=json_schema,
        max_tokens=max_tokens,
        temperature=temperature,
        schema_style="json_schema",
    )
    started = time.perf_counter()
    reply = _post_json(url, body, deadline=deadline, api_key=api_key)
    if grammar is None and json_schema is not None and _refuses_json_schema_type(reply):
        logger.info("%s knows only response_format json_object; asking again in that form", base)
        body = _chat_body(
            model,
            messages,
            grammar=None,
            json_schema=json_schema,
            max_tokens=max_tokens,
            temperature=temperature,
            schema_style="json_object",
        )
        reply = _post_json(url, body, deadline=deadline, api_key=api_key)
    total_ms = (time.perf_counter() - started) * 1000

    _raise_for_status(reply, url=url, model=model)
    generation = _generation_from(_json_from(reply), total_ms=total_ms)
    logger.debug(
        "%s answered %d+%d tokens in %.0f ms",
        url,
        generation.prompt_tokens,
        generation.completion_tokens,
        total_ms,
    )
    return generation


def list_models(endpoint_url: str, timeout: float, *, api_key: str | None = None) -> list[str]:
    """The model names the server at `endpoint_url` offers (GET /models), in its order."""
    url = _base_url(endpoint_url) + "/models"
    reply = _request("GET", url, None, deadline=_Deadline(timeout), api_key=api_key)
    _raise_for_status(reply, url=url, model=None)
    data = _json_from(reply)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RemoteError("error", f"model list has no 'data' list: {_excerpt(reply.body)}")
    return [entry["id"] for entry in entries if isinstance(entry, dict) and "id" in entry]


def _base_url(endpoint_url: str) -> str:
    """`http://host:port/v1` from what people paste: a trailing slash or the full chat URL."""
    base = endpoint_url.strip().rstrip("/")
    if base.endswith(_CHAT_PATH):
        base = base[: -len(_CHAT_PATH)]
    parts = urlsplit(base)
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(
            "error", f"endpoint URL must look like http://host:port/v1, not {endpoint_url!r}"
        )
    return base


def _chat_body(
    model: str,
    messages: list[dict],
    *,
    grammar: str | None,
    json_schema: dict | None,
    max_tokens: int,
    temperature: float,
    schema_style: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream": False,
    }
    if grammar is not None:
        body["grammar"] = grammar
        body["structured_outputs"] = {"grammar": grammar}
    elif json_schema is not None and schema_style == "json_object":
        body["response_format"] = {"type": "json_object", "schema": json_schema}
    elif json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": json_schema, "strict": True},
        }
    return body


def _refuses_json_schema_type(reply: _Reply) -> bool:
    """llama-cpp-python (HTTP 500) and older llama.cpp (HTTP 400) reject the OpenAI form by
    listing the types they do accept; nothing else answers an error naming `json_object`."""
    if reply.status < 400:
        return False
    text = reply.body.decode("utf-8", errors="replace")
    return "response_format" in text and "json_object" in text


def _post_json(
    url: str, body: dict[str, Any], *, deadline: _Deadline, api_key: str | None
) -> _Reply:
    payload = json.dumps(body).encode("utf-8")
    return _request("POST", url, payload, deadline=deadline, api_key=api_key)


def _request(
    method: str, url: str, payload: bytes | None, *, deadline: _Deadline, api_key: str | None
) -> _Reply:
    """One HTTP exchange that ends by the deadline, whatever the server does.

    A socket timeout alone bounds each read, not the sum of them: a server that trickles a byte
    a second would never time out. A watchdog timer shuts the socket down at the deadline.
    Only a hanging DNS lookup of a host name escapes it (the resolver cannot be interrupted).
    http.client rather than urllib: urllib would send loopback and LAN model servers through
    any HTTP proxy set in the environment.
    """
    remaining = deadline.remaining()
    if remaining <= 0:
        raise deadline.error(url)
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=remaining)
    headers = {"Accept": "application/json"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"

    expired = threading.Event()

    def stop_waiting() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the caller

    watchdog = threading.Timer(remaining, stop_waiting)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(method, parts.path or "/", body=payload, headers=headers)
        response = connection.getresponse()
        chunks = []
        while chunk := response.read(_READ_CHUNK):
            chunks.append(chunk)
        if expired.is_set():
            raise deadline.error(url)  # the body may have been cut short by the watchdog
        return _Reply(response.status, b"".join(chunks))
    except RemoteError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError) or deadline.remaining() <= 0:
            raise deadline.error(url) from exc
        raise RemoteError("error", _connection_failure(exc, url)) from exc
    finally:
        watchdog.cancel()
        connection.close()


def _connection_failure(exc: BaseException, url: str) -> str:
    base = url.rsplit(_CHAT_PATH, 1)[0] if url.endswith(_CHAT_PATH) else url
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {base}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host of {base}: {exc.strerror or exc}"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        # llama-cpp-python's server dies this way on a grammar it cannot parse.
        return f"{base} closed the connection without answering (did the server crash?)"
    return f"cannot talk to {base}: {exc}"


def _raise_for_status(reply: _Reply, *, url: str, model: str | None) -> None:
    if 200 <= reply.status < 300:
        return
    excerpt = _excerpt(reply.body)
    if reply.status == 404 and model is not None and "model" in excerpt.lower():
        # vLLM and Ollama answer 404 for an unknown model name; a wrong path says nothing of models.
        raise RemoteError("not_found", f"model {model!r} not found on server (HTTP 404): {excerpt}")
    if reply.status == 404:
        raise RemoteError(
            "error",
            f"nothing at {url} (HTTP 404); the endpoint URL usually ends in /v1: {excerpt}",
        )
    if reply.status in (401, 403):
        raise RemoteError(
            "error",
            f"server refused the request (HTTP {reply.status}), check the API key: {excerpt}",
        )
    raise RemoteError("error", f"server answered HTTP {reply.status}: {excerpt}")


def _json_from(reply: _Reply) -> Any:
    try:
        return json.loads(reply.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise RemoteError("error", f"answer is not JSON: {_excerpt(reply.body)}") from exc


def _generation_from(data: Any, *, total_ms: float) -> Generation:
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        text = None
    if not isinstance(text, str):
        raise RemoteError(
            "error", f"answer has no choices[0].message.content: {_excerpt(json.dumps(data))}"
        )
    if choice.get("finish_reason") == "length":
        logger.info("the answer was cut at max_tokens: %r", text[-80:])

    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt_tokens = _as_int(usage.get("prompt_tokens"))
    completion_tokens = _as_int(usage.get("completion_tokens"))

    # llama.cpp's server reports its own split; the others leave only the wall clock, which
    # then counts prompt processing and the network as generation time.
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
    prompt_ms = _as_float(timings.get("prompt_ms"))
    generation_ms = _as_float(timings.get("predicted_ms"))
    if generation_ms > 0:
        tokens_per_second = _as_float(timings.get("predicted_per_second")) or (
            completion_tokens / (generation_ms / 1000)
        )
    else:
        prompt_ms, generation_ms = 0.0, total_ms
        tokens_per_second = completion_tokens / (total_ms / 1000) if total_ms > 0 else 0.0

    return Generation(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        load_ms=0.0,
        prompt_ms=prompt_ms,
        generation_ms=generation_ms,
        total_ms=total_ms,
        tokens_per_second=tokens_per_second,
    )


def _as_int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _as_float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _excerpt(body: bytes | str) -> str:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"
