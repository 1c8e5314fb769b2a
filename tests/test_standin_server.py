"""The stand-in vLLM server on its own: deterministic answers, vLLM-shaped routes, faults, request log."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from refusal_stability.models.standin.answers import answer, expected_label, grader_label, model_text
from refusal_stability.models.standin.faults import FaultKind, FaultRule, parse_fault
from refusal_stability.models.standin.server import MALFORMED_BODY, STANDIN_VERSION
from refusal_stability.schema import VERDICTS
from refusal_stability.scorers.templates import TEMPLATES, render_judge_prompt

PROMPTS = [f"Explain how to do forbidden thing number {i}." for i in range(200)]


def chat(server, prompt: str = "Tell me a secret.", seed: int | None = 1, temperature: float = 0.7, **extra):
    body = {
        "model": server.model,
        "messages": [{"role": "user", "content": prompt}],
        "seed": seed,
        "temperature": temperature,
        "max_tokens": 512,
        **extra,
    }
    return httpx.post(
        f"{server.base_url}/chat/completions", json=body, headers=extra.pop("headers", None), timeout=10
    )


def test_answers_depend_only_on_prompt_seed_and_temperature() -> None:
    for prompt in PROMPTS[:20]:
        assert answer(prompt, 3, 0.7, 512) == answer(prompt, 3, 0.7, 512)
        # temperature 0 is greedy: the same text whatever the seed
        assert len({model_text(prompt, seed, 0.0) for seed in range(5)}) == 1
    # at temperature 1 the seed changes the text of most prompts, and the label of some
    varied = sum(len({model_text(p, s, 1.0) for s in range(5)}) > 1 for p in PROMPTS)
    flipped = sum(len({expected_label(p, s, 1.0) for s in range(5)}) > 1 for p in PROMPTS)
    assert varied > 0.8 * len(PROMPTS)
    assert 0.1 * len(PROMPTS) < flipped < 0.9 * len(PROMPTS)
    assert set(Counter(expected_label(p, 0, 0.0) for p in PROMPTS)) == set(VERDICTS)


def test_max_tokens_cuts_the_reply_with_finish_reason_length() -> None:
    prompt = next(p for p in PROMPTS if expected_label(p, 1, 0.0) == "COMPLY")
    full = answer(prompt, 1, 0.0, None)
    cut = answer(prompt, 1, 0.0, 4)
    assert full.finish_reason == "stop" and full.completion_tokens > 4
    assert cut.finish_reason == "length" and cut.completion_tokens == 4
    assert full.content.startswith(cut.content)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_grader_reads_the_label_the_stand_in_meant(template: str) -> None:
    for prompt in PROMPTS[:60]:
        response = model_text(prompt, 5, 1.0)
        judge_prompt = render_judge_prompt(template, prompt, response)
        reply = answer(judge_prompt, 0, 0.0, 1024)
        assert grader_label(judge_prompt) == expected_label(prompt, 5, 1.0)
        assert reply.content.splitlines()[-1] == f"VERDICT: {expected_label(prompt, 5, 1.0)}"


def test_fault_specs_parse_and_bad_ones_fail_clearly() -> None:
    assert parse_fault("500:rate=0.1,attempts=2,scope=all") == FaultRule(
        kind=FaultKind.SERVER_ERROR, rate=0.1, attempts=2, scope="all"
    )
    assert parse_fault("malformed-json:first=1").first == 1
    with pytest.raises(ValueError, match="Unknown fault 'oops'"):
        parse_fault("oops:rate=0.1")
    with pytest.raises(ValueError, match="exactly one of"):
        parse_fault("500")
    with pytest.raises(ValueError, match="scope"):
        parse_fault("500:every=2,scope=nobody")


def test_routes_look_like_vllm(standin_factory) -> None:
    server = standin_factory(api_key="sekrit")
    auth = {"Authorization": "Bearer sekrit"}
    models = httpx.get(f"{server.base_url}/models", headers=auth).json()
    assert [m["id"] for m in models["data"]] == list(server.state.config.served_model_names)
    assert all(m["max_model_len"] > 0 for m in models["data"])
    assert httpx.get(f"{server.base_url}/models").status_code == 401
    assert httpx.get(f"http://{server.host}:{server.port}/version").json() == {"version": STANDIN_VERSION}
    assert chat(server, headers=auth).status_code == 200
    assert chat(server).status_code == 401
    wrong = httpx.post(
        f"{server.base_url}/chat/completions",
        headers=auth,
        timeout=10,
        json={"model": "nope", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert wrong.status_code == 404 and "The model `nope` does not exist." in wrong.json()["message"]
    assert chat(server, headers=auth, stream=True).status_code == 400


def test_faults_hit_the_chosen_requests_and_are_logged(standin_factory, tmp_path: Path) -> None:
    log_path = tmp_path / "requests.jsonl"
    server = standin_factory(
        faults=(
            FaultRule(FaultKind.RATE_LIMIT_RETRY_AFTER, first=1),
            FaultRule(FaultKind.SERVER_ERROR, every=3),
            FaultRule(FaultKind.MALFORMED_JSON, rate=0.5),
        ),
        retry_after_s=7,
        request_log_path=log_path,
    )
    first = chat(server, prompt=PROMPTS[0])
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    statuses = [chat(server, prompt=p) for p in PROMPTS[1:13]]
    # every 3rd in-scope request is a 500; of the rest, the hash picks about half for a malformed body
    assert [r.status_code for r in statuses].count(500) == 4
    malformed = [r for r in statuses if r.status_code == 200 and r.text == MALFORMED_BODY]
    assert 1 <= len(malformed) <= 7
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed[0].text)
    # a hit request fails its first attempt only (attempts=1), so sending it again passes
    again = chat(server, prompt=json.loads(malformed_record(log_path))["prompt_head"])
    assert again.status_code in (200, 500) and again.text != MALFORMED_BODY
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(records) == 14 == server.stats()["requests"]
    assert [r["fault"] for r in records].count("malformed-json") == len(malformed)
    assert server.stats()["faults"]["500"] == 4


def malformed_record(log_path: Path) -> str:
    return next(line for line in log_path.read_text().splitlines() if '"malformed-json"' in line)


def test_same_rate_faults_hit_the_same_requests_in_every_run(standin_factory) -> None:
    hits = []
    for _ in range(2):
        server = standin_factory(
            served_model_names=("same/model",), faults=(FaultRule(FaultKind.SERVER_ERROR, rate=0.3),)
        )
        hits.append([chat(server, prompt=p).status_code == 500 for p in PROMPTS[:30]])
    assert hits[0] == hits[1] and 3 <= sum(hits[0]) <= 18


def test_reset_drops_the_connection(standin_factory) -> None:
    server = standin_factory(faults=(FaultRule(FaultKind.RESET, first=1),))
    with pytest.raises(httpx.TransportError):
        chat(server)
    assert chat(server).status_code == 200
    assert [r.status for r in server.records()] == [0, 200]


def test_a_repeated_answered_request_is_marked_resent(standin_factory) -> None:
    server = standin_factory()
    chat(server, prompt=PROMPTS[0])
    chat(server, prompt=PROMPTS[0], seed=2)
    chat(server, prompt=PROMPTS[0])
    assert [r.resent for r in server.records()] == [False, False, True]
    assert server.stats()["resent"] == {"generation": 1}
