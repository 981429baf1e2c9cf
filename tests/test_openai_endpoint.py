"""/v1/chat/completions on a real server on loopback, driven by the official `openai` client and by LangChain's
`ChatOpenAI` (langchain-openai): PolicyQA as a model named `policyqa`, streamed and not, with cited answers."""

from __future__ import annotations

import pytest

from rag.verify import verify_quote

from .served import serving

QUESTION = "深圳2021年高端医疗器械产业营业收入是多少？"
FACT = "805亿元"
TOKEN = "read-token-for-openai-tests"


@pytest.fixture(scope="module")
def base_url(assistant):
    settings = assistant.settings.model_copy(update={"api_tokens": __import__("pydantic").SecretStr(f"{TOKEN}:read")})
    with serving(assistant, settings) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(base_url):
    from openai import OpenAI

    return OpenAI(base_url=base_url + "/v1", api_key=TOKEN, max_retries=0, timeout=120)


def check_cited(content: str, citations: list[dict], assistant) -> None:
    """The content is the answer with a Markdown source list; every structured citation verifies."""
    answer, _, sources = content.partition("\n\n**来源**\n\n")
    assert FACT in answer and "[1]" in answer
    assert sources.startswith("- [1] 《") and citations
    docs = assistant.retriever.index.docs
    for c in citations:
        assert verify_quote(docs[c["doc"]].doc.source_text, c["start"], c["end"], c["quote"])
        assert f"[{c['n']}] 《{c['title']}》" in sources and c["quote"] in sources


def test_openai_client_gets_a_cited_answer(client, assistant):
    resp = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    assert resp.model == "policyqa" and resp.choices[0].finish_reason == "stop"
    extra = resp.model_extra
    check_cited(resp.choices[0].message.content, extra["citations"], assistant)
    assert extra["policyqa"]["refused"] is False and extra["policyqa"]["generation"]


def test_openai_client_streams_the_same_cited_answer(client, assistant):
    whole = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    pieces, citations = [], None
    for chunk in client.chat.completions.create(model="policyqa", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}]):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if (chunk.model_extra or {}).get("citations"):
            citations = chunk.model_extra["citations"]
    assert len(pieces) > 2
    assert "".join(pieces) == whole.choices[0].message.content
    check_cited("".join(pieces), citations, assistant)


def test_history_feeds_follow_up_rewriting(client):
    first = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    follow = client.chat.completions.create(model="policyqa", messages=[
        {"role": "system", "content": "你是政策助手"},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "那企业数量呢？"}]},
    ])
    rewritten = follow.model_extra["policyqa"]["rewritten_question"]
    assert "深圳" in rewritten and "企业数量" in rewritten and "**来源**" not in rewritten
    alone = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": "那企业数量呢？"}])
    assert alone.model_extra["policyqa"]["rewritten_question"] == ""


def test_models_and_unknown_model(client):
    import openai

    assert [m.id for m in client.models.list()] == ["policyqa"]
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert "policyqa" in str(e.value)
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="wrong").models.list()


def test_langchain_chat_openai_gets_a_cited_answer_streamed_and_not(base_url, assistant):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="policyqa", base_url=base_url + "/v1", api_key=TOKEN, max_retries=0, timeout=120)
    msg = llm.invoke(QUESTION)
    answer, _, sources = msg.content.partition("\n\n**来源**\n\n")
    assert FACT in answer and sources.startswith("- [1] 《")
    streamed = "".join(chunk.content for chunk in llm.stream(QUESTION))
    assert streamed == msg.content
