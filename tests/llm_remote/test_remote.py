"""llm.remote: chat completions from OpenAI-compatible model servers, and how they fail.

The first group talks to a real llama-cpp-python server running the small test model. The rest
talk to small loopback servers written here to misbehave in one way each.
"""

from __future__ import annotations

import json
import time

import pytest

from llm.remote import RemoteError, chat, list_models
from tests.llm_remote.conftest import LoopbackHandler, free_loopback_port

pytestmark = pytest.mark.llm

ONE_TO_FIVE_LIST = """root ::= "[" num ("," num)? ("," num)? ("," num)? ("," num)? "]"
num ::= [1-5]
"""
ASK_FOR_A_LIST = [
    {"role": "system", "content": "You answer with a JSON list of stop numbers only."},
    {"role": "user", "content": "Visit stops 1 to 5 in a sensible order."},
]
CHAT_ANSWER = {
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "[2,1]"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
}
TIMEOUT = 1.0
# Thread start-up and teardown on a loaded 2-core machine; far below the servers' 10 s stall.
TIMEOUT_MARGIN = 0.5


def ask(
    url: str,
    *,
    grammar: str | None = None,
    json_schema: dict | None = None,
    timeout: float = TIMEOUT,
    model: str = "smollm2-test",
    **options,
):
    return chat(
        url,
        model,
        ASK_FOR_A_LIST,
        grammar=grammar,
        json_schema=json_schema,
        max_tokens=32,
        temperature=0.0,
        timeout=timeout,
        **options,
    )


# --- a real llama-cpp-python server ---------------------------------------------------------


def test_a_grammar_constrained_answer_is_a_json_list_of_allowed_numbers(llama_server):
    generation = ask(llama_server.url, grammar=ONE_TO_FIVE_LIST, timeout=60)

    stops = json.loads(generation.text)
    assert isinstance(stops, list) and 1 <= len(stops) <= 5
    assert all(stop in {1, 2, 3, 4, 5} for stop in stops)


def test_it_reports_token_counts_and_times(llama_server):
    generation = ask(llama_server.url, grammar=ONE_TO_FIVE_LIST, timeout=60)

    assert generation.prompt_tokens > 10  # the system and user messages with the chat template
    assert 3 <= generation.completion_tokens <= 32
    assert generation.load_ms == 0.0
    assert generation.total_ms > 0
    # llama-cpp-python gives no timings: generation time is the whole wait.
    assert generation.generation_ms == generation.total_ms
    assert generation.tokens_per_second == pytest.approx(
        generation.completion_tokens / (generation.total_ms / 1000)
    )


def test_a_schema_constrained_answer_follows_the_schema(llama_server):
    # llama-cpp-python refuses the OpenAI json_schema form; the client asks again in its form.
    schema = {
        "type": "array",
        "items": {"type": "integer", "enum": [7, 8, 9]},
        "minItems": 1,
        "maxItems": 3,
    }

    generation = ask(llama_server.url, json_schema=schema, timeout=60)

    stops = json.loads(generation.text)
    assert isinstance(stops, list) and 1 <= len(stops) <= 3
    assert all(stop in {7, 8, 9} for stop in stops)


def test_the_grammar_wins_when_a_schema_is_given_too(llama_server):
    # llama-cpp-python would let a response_format replace the grammar; only the grammar is sent.
    schema = {"type": "array", "items": {"type": "integer", "enum": [7]}}

    generation = ask(llama_server.url, grammar=ONE_TO_FIVE_LIST, json_schema=schema, timeout=60)

    assert all(stop in {1, 2, 3, 4, 5} for stop in json.loads(generation.text))


def test_it_lists_the_served_model(llama_server):
    assert list_models(llama_server.url, timeout=5) == [llama_server.model]


# --- the request on the wire ------------------------------------------------------------------


class RecordsAndAnswers(LoopbackHandler):
    def do_POST(self):
        self.record(self.read_body())
        self.answer(200, json.dumps(CHAT_ANSWER).encode())

    def do_GET(self):
        self.record()
        models = {"object": "list", "data": [{"id": "a"}, {"id": "b"}]}
        self.answer(200, json.dumps(models).encode())


@pytest.mark.parametrize("suffix", ["", "/", "/chat/completions", "/chat/completions/"])
def test_it_posts_to_chat_completions_whatever_form_the_endpoint_url_takes(loopback_server, suffix):
    server = loopback_server(RecordsAndAnswers)

    generation = ask(server.url + suffix)

    assert generation.text == "[2,1]"
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/v1/chat/completions")]


def test_it_sends_a_grammar_where_llama_cpp_and_vllm_read_it_and_no_response_format(
    loopback_server,
):
    server = loopback_server(RecordsAndAnswers)

    ask(server.url, grammar=ONE_TO_FIVE_LIST, json_schema={"type": "array"})

    sent = json.loads(server.requests[0].body)
    assert sent["grammar"] == ONE_TO_FIVE_LIST
    assert sent["structured_outputs"] == {"grammar": ONE_TO_FIVE_LIST}
    assert "response_format" not in sent
    assert sent["model"] == "smollm2-test"
    assert sent["messages"] == ASK_FOR_A_LIST
    assert (sent["max_tokens"], sent["temperature"], sent["stream"]) == (32, 0.0, False)


def test_it_sends_a_schema_alone_in_the_openai_json_schema_form(loopback_server):
    server = loopback_server(RecordsAndAnswers)

    ask(server.url, json_schema={"type": "array"})

    sent = json.loads(server.requests[0].body)
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == {"type": "array"}
    assert "grammar" not in sent


def test_it_sends_the_api_key_as_a_bearer_token(loopback_server):
    server = loopback_server(RecordsAndAnswers)

    ask(server.url, api_key="sk-local")

    assert server.requests[0].headers["Authorization"] == "Bearer sk-local"


def test_list_models_returns_the_ids_in_the_servers_order(loopback_server):
    server = loopback_server(RecordsAndAnswers)

    assert list_models(server.url + "/", timeout=TIMEOUT) == ["a", "b"]
    assert server.requests[0].path == "/v1/models"


class AnswersLikeLlamaCppServer(LoopbackHandler):
    """llama.cpp's llama-server adds its own timings to the OpenAI answer."""

    def do_POST(self):
        self.read_body()
        timings = {
            "prompt_n": 12,
            "prompt_ms": 40.0,
            "predicted_n": 4,
            "predicted_ms": 80.0,
            "predicted_per_second": 50.0,
        }
        self.answer(200, json.dumps({**CHAT_ANSWER, "timings": timings}).encode())


def test_it_takes_prompt_and_generation_times_from_llama_cpp_server_timings(loopback_server):
    server = loopback_server(AnswersLikeLlamaCppServer)

    generation = ask(server.url)

    assert (generation.prompt_ms, generation.generation_ms) == (40.0, 80.0)
    assert generation.tokens_per_second == 50.0
    assert (generation.prompt_tokens, generation.completion_tokens) == (12, 4)


# --- servers that fail ------------------------------------------------------------------------


def test_a_closed_port_is_an_error_naming_the_url():
    url = f"http://127.0.0.1:{free_loopback_port()}/v1"

    with pytest.raises(RemoteError) as caught:
        ask(url)

    assert caught.value.status == "error"
    assert caught.value.reason == f"connection refused by {url}"


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:8080/v1", "ftp://127.0.0.1/v1", "http://127.0.0.1:port/v1"]
)
def test_an_endpoint_url_that_is_not_http_host_port_is_an_error(endpoint):
    with pytest.raises(RemoteError) as caught:
        ask(endpoint)

    assert caught.value.status == "error"
    assert "http://host:port/v1" in caught.value.reason


class AnswersTooLate(LoopbackHandler):
    def do_POST(self):
        self.read_body()
        self.wait_for_release(10)
        self.answer(200, json.dumps(CHAT_ANSWER).encode())


def test_a_server_slower_than_the_timeout_is_a_timeout_on_time(loopback_server):
    server = loopback_server(AnswersTooLate)
    started = time.monotonic()

    with pytest.raises(RemoteError) as caught:
        ask(server.url, timeout=TIMEOUT)

    elapsed = time.monotonic() - started
    assert caught.value.status == "timeout"
    assert caught.value.reason.startswith("timed out after 1.0 s")
    assert TIMEOUT - 0.05 <= elapsed <= TIMEOUT + TIMEOUT_MARGIN


class TricklesItsAnswer(LoopbackHandler):
    """Answers at once, then sends the body a byte at a time: no single read ever waits long."""

    def do_POST(self):
        self.read_body()
        body = json.dumps(CHAT_ANSWER).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            self.wait_for_release(0.2)
            if self.server.release.is_set():
                return


def test_a_server_that_trickles_its_answer_times_out_on_the_whole_call(loopback_server):
    server = loopback_server(TricklesItsAnswer)
    started = time.monotonic()

    with pytest.raises(RemoteError) as caught:
        ask(server.url, timeout=TIMEOUT)

    elapsed = time.monotonic() - started
    assert caught.value.status == "timeout"
    assert TIMEOUT - 0.05 <= elapsed <= TIMEOUT + TIMEOUT_MARGIN


class FailsWith500(LoopbackHandler):
    def do_POST(self):
        self.read_body()
        self.answer(500, b"CUDA error: out of memory " + b"x" * 500, "text/plain")


def test_an_http_500_is_an_error_with_the_status_and_the_start_of_the_body(loopback_server):
    server = loopback_server(FailsWith500)

    with pytest.raises(RemoteError) as caught:
        ask(server.url)

    assert caught.value.status == "error"
    assert caught.value.reason.startswith("server answered HTTP 500: CUDA error: out of memory")
    assert len(caught.value.reason) < 300


class AnswersGarbage(LoopbackHandler):
    def do_POST(self):
        self.read_body()
        self.answer(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")


def test_a_body_that_is_not_json_is_an_error_saying_so(loopback_server):
    server = loopback_server(AnswersGarbage)

    with pytest.raises(RemoteError) as caught:
        ask(server.url)

    assert caught.value.status == "error"
    assert caught.value.reason == "answer is not JSON: <html><body>502 Bad Gateway</body></html>"


class AnswersJsonWithoutChoices(LoopbackHandler):
    def do_POST(self):
        self.read_body()
        self.answer(200, json.dumps({"object": "chat.completion", "choices": []}).encode())


def test_json_without_choices_is_an_error(loopback_server):
    server = loopback_server(AnswersJsonWithoutChoices)

    with pytest.raises(RemoteError) as caught:
        ask(server.url)

    assert caught.value.status == "error"
    assert "no choices[0].message.content" in caught.value.reason


class DoesNotKnowTheModel(LoopbackHandler):
    """Ollama's and vLLM's answer to a model name they do not serve."""

    def do_POST(self):
        self.read_body()
        message = 'model "qwen-big" not found, try pulling it first'
        self.answer(404, json.dumps({"error": {"message": message, "type": "api_error"}}).encode())


def test_a_model_the_server_does_not_have_is_not_found(loopback_server):
    server = loopback_server(DoesNotKnowTheModel)

    with pytest.raises(RemoteError) as caught:
        ask(server.url, model="qwen-big")

    assert caught.value.status == "not_found"
    assert caught.value.reason.startswith("model 'qwen-big' not found on server (HTTP 404)")


class HasNoSuchPath(LoopbackHandler):
    def do_POST(self):
        self.read_body()
        self.answer(404, b'{"detail":"Not Found"}')


def test_a_404_that_is_not_about_the_model_is_an_error_about_the_url(loopback_server):
    server = loopback_server(HasNoSuchPath)

    with pytest.raises(RemoteError) as caught:
        ask(server.url)

    assert caught.value.status == "error"
    assert "/v1" in caught.value.reason and "HTTP 404" in caught.value.reason


class HangsUpWithoutAnswering(LoopbackHandler):
    """How llama-cpp-python's server goes when a grammar makes it abort."""

    def do_POST(self):
        self.read_body()
        self.close_connection = True


def test_a_server_that_hangs_up_is_an_error_suggesting_a_crash(loopback_server):
    server = loopback_server(HangsUpWithoutAnswering)

    with pytest.raises(RemoteError) as caught:
        ask(server.url)

    assert caught.value.status == "error"
    assert "closed the connection without answering" in caught.value.reason


def test_list_models_on_a_closed_port_is_an_error_naming_the_url():
    url = f"http://127.0.0.1:{free_loopback_port()}/v1"

    with pytest.raises(RemoteError) as caught:
        list_models(url, timeout=TIMEOUT)

    assert caught.value.status == "error"
    assert url in caught.value.reason
