"""Write eval/laws_lookup.jsonl: article-lookup questions over the laws folder (../shared/external/laws).

For every law (the newest version of a title) a few articles are drawn at random (fixed seed) and asked about in
hand-written phrasings: the title with or without 中华人民共和国 and 《》, a common short name, a city or province
written short, Chinese, Arabic or full-width numerals, and now and then one 款 of a multi-paragraph article. The gold
is the first sentence of the article (or 款), read from the Markdown here independently of the chunker; a few
questions ask for an article the law does not have (type unanswerable: the answer must say so, not quote).

    python scripts/make_laws_lookup.py [--laws DIR] [--out eval/laws_lookup.jsonl] [--per-doc 3] [--seed 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "中华人民共和国"
ARTICLE = re.compile(r"^\s*第([零〇一二两三四五六七八九十百千]+)\s*条\s*(.*)$")
ITEM = re.compile(r"^\s*[（(][一二三四五六七八九十]+[）)]")
SENTENCE = re.compile(r"^.*?[。；;：:]")
# Short names people use for some national laws (hand-written here; the assistant reads its own list from
# rag/data/lexicon/law_aliases.txt).
SHORT_NAMES = {
    "消费者权益保护法": ["消法"], "民事诉讼法": ["民诉法"], "刑事诉讼法": ["刑诉法"], "行政诉讼法": ["行诉法"],
    "企业破产法": ["破产法"], "电子商务法": ["电商法"], "社会保险法": ["社保法"], "反家庭暴力法": ["反家暴法"],
    "反电信网络诈骗法": ["反诈法"], "劳动争议调解仲裁法": ["劳动仲裁法"], "招标投标法": ["招投标法"],
    "证券投资基金法": ["基金法"], "未成年人保护法": ["未保法"], "著作权法": ["版权法"], "家庭教育促进法": ["家庭教育法"],
}
TEMPLATES = [
    "{name}第{n}条规定了什么？", "{name}第{n}条", "{name}第{n}条是怎么规定的？", "请问{name}第{n}条的内容是什么",
    "{name}的第{n}条说了什么？", "根据{name}第{n}条，有什么规定？", "第{n}条在{name}里是怎么写的？",
    "{name}第{n}条原文", "查一下{name}第{n}条", "{name}中第{n}条讲的是什么内容",
]
PARA_TEMPLATES = ["{name}第{n}条第{k}款规定了什么？", "{name}第{n}条第{k}款", "请问{name}第{n}条第{k}款怎么说的"]
DIGITS = "零一二三四五六七八九"


def cn(n: int) -> str:
    """33 -> 三十三, 101 -> 一百零一, 15 -> 十五."""
    if n < 10:
        return DIGITS[n]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            out += ("零" if zero else "") + ("" if d == 1 and unit == "十" and n < 20 else DIGITS[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


def number(s: str) -> int:
    """三十三 -> 33, 一百零一 -> 101."""
    values = {"零": 0, "〇": 0, "两": 2, **{d: i for i, d in enumerate(DIGITS) if i}}
    total, digit = 0, 0
    for ch in s:
        if ch in "十百千":
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = 0
        else:
            digit = values[ch]
    return total + digit


def articles(text: str) -> dict[int, list[list[str]]]:
    """Article number -> its paragraphs (款), each a list of lines (the paragraph, then its items)."""
    out: dict[int, list[list[str]]] = {}
    current = None
    for line in text.split("<!-- INFO END -->")[-1].splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            current = None
            continue
        m = ARTICLE.match(line)
        if m:
            n = number(m.group(1))
            current = None if n in out else out.setdefault(n, [[m.group(2).strip()]])
            continue
        if current is None:
            continue
        if ITEM.match(line):
            current[-1].append(line.strip())
        else:
            current.append([line.strip()])
    return out


def first_sentence(line: str) -> str:
    m = SENTENCE.match(line)
    return (m.group(0) if m else line).strip()


def names(title: str, all_titles: list[str]) -> list[str]:
    """Ways a question may name the document."""
    if title.startswith(PREFIX):
        bare = title[len(PREFIX):]
        out = [f"《{title}》", bare, f"《{bare}》", title, bare]
        out += SHORT_NAMES.get(bare, [])
        return out
    flat = title.replace("《", "").replace("》", "")
    out = [f"《{title}》", title, flat]
    m = re.match(r"^(.{2,4}?)(省|市)(.{4,})$", flat)
    if m:
        out.append(m.group(1) + m.group(3))  # 信阳大气污染防治条例, 河南义务植树条例
        rest = m.group(3)
        if sum(t.replace("《", "").replace("》", "").endswith(rest) for t in all_titles) == 1:
            out.append(rest)  # 义务植树条例: no other document ends so
    return out


def numeral(n: int, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        return cn(n)
    if style < 0.85:
        return str(n)
    return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--laws", type=Path,
                    default=Path(os.environ.get("POLICYQA_EXTERNAL", ROOT.parent / "shared" / "external")) / "laws")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "laws_lookup.jsonl")
    ap.add_argument("--per-doc", type=int, default=3)
    ap.add_argument("--missing", type=int, default=12, help="questions about articles a law does not have")
    ap.add_argument("--seed", type=int, default=10)
    args = ap.parse_args()
    if not args.laws.is_dir():
        raise SystemExit(f"laws folder not found: {args.laws} (set POLICYQA_EXTERNAL or pass --laws)")
    rng = random.Random(args.seed)
    files = sorted(p for p in args.laws.rglob("*.md") if p.name != "README.md")
    docs = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        docs.append((title, path, text))
    newest: dict[str, tuple] = {}
    for title, path, text in docs:  # one version per title: the newest (the date in the file name)
        if title not in newest or path.name > newest[title][1].name:
            newest[title] = (title, path, text)
    all_titles = list(newest)
    items = []
    for title, path, text in sorted(newest.values(), key=lambda d: d[1].name):
        arts = articles(text)
        if len(arts) < 3:
            continue
        for n in rng.sample(sorted(arts), min(args.per_doc, len(arts))):
            paras = arts[n]
            name = rng.choice(names(title, all_titles))
            if len(paras) >= 2 and rng.random() < 0.3:
                k = rng.randrange(1, len(paras) + 1)
                q = rng.choice(PARA_TEMPLATES).format(name=name, n=numeral(n, rng), k=cn(k) if rng.random() < .7 else k)
                gold, kind = paras[k - 1][0], "paragraph"
            else:
                q = rng.choice(TEMPLATES).format(name=name, n=numeral(n, rng))
                gold, kind = paras[0][0], "article"
            items.append({"question": q, "must_contain": [first_sentence(gold)], "doc": path.name, "type": kind,
                          "answer": "\n".join(line for p in paras for line in p), "article": n})
    for title, path, text in rng.sample(sorted(newest.values(), key=lambda d: d[1].name), args.missing):
        n = max(articles(text)) + rng.randrange(5, 60)
        q = rng.choice(TEMPLATES).format(name=rng.choice(names(title, all_titles)), n=numeral(n, rng))
        items.append({"question": q, "must_contain": [], "doc": path.name, "type": "unanswerable", "article": n})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for i, it in enumerate(items, 1):
            f.write(json.dumps({"id": f"law{i:04d}", **it}, ensure_ascii=False) + "\n")
    print(f"{len(items)} questions ({sum(it['type'] == 'unanswerable' for it in items)} unanswerable) -> {args.out}")


if __name__ == "__main__":
    main()
