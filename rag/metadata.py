"""Document metadata read from the text itself: title, date, region, source link, and the official fields of
rag/official.py (文号, issuing bodies, dates, validity, repeals)."""

from __future__ import annotations

import re
from collections import Counter

from .places import Mention, find_places
from .places import city_of, parent_names, place_names, places_in, province_of  # noqa: F401  (re-exported)

# Places come from the gazetteer (rag/places.py, data in rag/data/places.tsv). The tables below are kept for code
# written against the old hand-made list, derived from the gazetteer on first use: PROVINCE_CITIES (province ->
# city labels), CITY_TO_PROVINCE (city label -> province), DISTRICT_CITY (county label -> its city's label).
_LEGACY_TABLES = ("PROVINCE_CITIES", "CITY_TO_PROVINCE", "DISTRICT_CITY")


def __getattr__(name: str):
    if name in _LEGACY_TABLES:
        from .places import legacy_tables

        return legacy_tables()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _extract_title(lines: list[str], fields: dict[str, str], source: str = "") -> str:
    if lines and len(lines[0]) > MAX_TITLE:  # a page whose line breaks were lost: its first line is all its text
        lines = [_headline(lines[0], source)] + lines[1:]
    candidates = [fields.get("title", "")] + lines[:6]
    for c in candidates:
        m = re.search(r"关于(?:印发|发布|公布|转发)?《(.+?)》的(?:通知|公告|通告)", c or "")
        if m:
            return m.group(1).strip()
    if fields.get("title"):
        return fields["title"]
    for i, line in enumerate(lines):
        if len(line) >= 4 and not re.match(r"^(来源|发布时间|文：|记者)", line):
            subtitle = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("——") else ""
            return (line + subtitle)[:120]
    return lines[0][:80] if lines else ""


# A first line longer than this runs on into the text (a page whose line breaks were lost): its headline is cut out.
MAX_TITLE = 60
# An official title ('…关于…的通知') is kept whole up to this length, after dropping its issuers if it is longer.
MAX_OFFICIAL_TITLE = 80
_MIN_HEADLINE = 6
_DOC_TYPE = r"(?:通知|公告|通告|意见|决定|批复|函|办法|措施|方案|细则|规定|指引|指南|通报|解读|说明|提示|倡议书|公开信|告知书)"
# '关于…的通知' first, so '关于落实…责任措施有序推进…的通知' does not stop at 措施; then '关于…若干措施'.
_OFFICIAL = [re.compile(rf"关于.{{2,80}}?的{_DOC_TYPE}"), re.compile(rf"关于.{{2,80}}?{_DOC_TYPE}")]
_ISSUER = re.compile(
    r"[^，。：；！？,.:;!?\s]{2,20}(?:部|局|署|委|厅|办|府|院|委员会|管委会|办公室|中心|集团|公司|银行|联社|领导小组)"
)
_PUNCT = re.compile(r"[，。：；！？,.:;!?]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_DOC_NUMBER_FIRST = re.compile(r"^[\u4e00-\u9fff]{1,8}[〔\[［]\d{4}[〕\]］]\d+号[-—－\s]*")
# Where running text starts after a headline that lost its line break: first markers no headline contains (news
# agency, outlet, reporter, dateline, addressee, document number), then words that open a notice's first sentence.
_TEXT_STARTS = [
    re.compile(r"新华社|中新社|中新网|央广网|人民网|新华网|光明网|央视网|中国新闻网|国际在线|本报"),
    re.compile(r"[\u4e00-\u9fff]{2}(?:日报|晚报|网|报)讯"),
    re.compile(r"[（(]记者|(?<=[\u4e00-\u9fff])记者(?=\d|从|获悉|日前|近日|了解|在)"),
    re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:\d{1,2}时(?:\d{1,2}分)?)?(?=[，,电讯上下晚早午]|起|$)"),
    re.compile(r"今[（(]\d{1,2}[）)]日|今天|昨天|昨日|日前|近日|近期|连日来|截至|据悉|据了解|今年以来|疫情发生以来"),
    re.compile(r"(?:各|尊敬的|亲爱的|广大)[^。；！？：:]{1,80}[：:]"),
    re.compile(r"[\u4e00-\u9fff]{1,8}[〔\[［]\d{4}[〕\]］]\d+号"),
]
_MARKERS = len(_TEXT_STARTS)
_TEXT_STARTS += [
    re.compile(
        r"为(?:了|深入|进一步|全面|切实|认真|贯彻|落实|做好|加强|有效|坚决|确保|支持|帮助|应对|防止|更好|积极|统筹|保障|"
        r"减少|方便|抗击|打赢|维护|充分)|根据|按照|依据|面对|随着|当前|目前"
    ),
    re.compile(r"。"),
]


def _text_starts_at(text: str, pos: int) -> bool:
    return any(p.match(text, pos) for p in _TEXT_STARTS)


def _headline(line: str, source: str) -> str:
    """The headline of a first line that runs on into the text. In the source, the spaces between its pieces are
    what is left of the lost line breaks: an official title (issuers + '关于…的通知') is looked for across them,
    else the first piece (with its subtitle) is the headline; either way it is cut where running text starts."""
    from .textnorm import normalize_text

    parts = _headline_parts(source)
    text = _DOC_NUMBER_FIRST.sub("", normalize_text("".join(parts)) if len(parts) > 1 else line)
    official = _official_title(text)
    if official:
        return official
    if len(parts) > 1:
        parts[0] = _DOC_NUMBER_FIRST.sub("", parts[0]) or parts[0]
        return _cut_headline(normalize_text(_first_part_title(parts)).strip())
    return _cut_headline(text)


def _headline_parts(source: str) -> list[str]:
    """The whitespace-separated pieces that open the source's first line. Letter-spaced words ('通 告') are joined
    and a piece repeated right away (a page's title, then the document's own) is kept once."""
    first = _ZERO_WIDTH.sub("", next((ln for ln in source.splitlines() if ln.strip()), ""))
    parts: list[str] = []
    for piece in first[:400].split()[:12]:
        if parts and (len(piece) == 1 and len(parts[-1]) == 1 or parts[-1][-1] in "|｜" or piece in "|｜"):
            parts[-1] += piece  # '通 告', '求生记 | 扶持企业…'
        elif not parts or piece != parts[-1]:
            parts.append(piece)
    return parts


def _official_match(text: str) -> re.Match | None:
    """Where '关于…的通知' (or '关于…若干措施') sits in the opening of the text, with only issuer names before it."""
    found = []
    for pattern in _OFFICIAL:
        m = pattern.search(text, 0, 200)
        if (
            m and m.start() <= 80 and not _PUNCT.search(text, 0, m.end())
            and not any(_text_starts_at(text, i) for i in range(m.start()))
            and not any(p.search(text, m.start(), m.end()) for p in _TEXT_STARTS[:_MARKERS])
        ):
            found.append(m)
    if len(found) == 2 and found[1].end() < found[0].end() and _text_starts_at(text, found[1].end()):
        return found[1]  # '关于…若干措施' + '为认真贯彻…的通知》': the title ends where the text starts
    return found[0] if found else None


def _official_title(text: str) -> str:
    """'[issuers]关于…的通知' when the text opens with one, else ''. Long titles lose their issuers first."""
    m = _official_match(text)
    if m is None:
        return ""
    end = m.end()
    if text.count("《", 0, end) > text.count("》", 0, end):
        close = text.find("》", end, end + 40)
        end = close + 1 if close >= 0 else end
    tail = re.match(rf"的?(?:文件|政策)?{_DOC_TYPE}", text[end:])  # '…若干措施' + '的通知', '…》' + '的政策解读'
    end += tail.end() if tail else 0
    number = re.match(r"[（(]第?[\d一二三四五六七八九十]+号[）)]|[（(](?:试行|暂行)[）)]", text[end:])
    end += number.end() if number else 0
    title = text[:end]
    if len(title) > MAX_TITLE:  # '《关于…》的解读' keeps its opening mark
        title = title[m.start() - (text[m.start() - 1 : m.start()] == "《") :]
    return title if len(title) <= MAX_OFFICIAL_TITLE else title[:MAX_TITLE] + "…"


def _first_part_title(parts: list[str]) -> str:
    """A news headline: the first piece (issuer names run together: '人力资源社会保障部 财政部 税务总局'), with the
    next as its subtitle when that is a short phrase of its own rather than a dateline, a byline or the text."""
    head, rest = parts[0], parts[1:]
    while rest and _ISSUER.fullmatch(head.split()[-1]) and _ISSUER.fullmatch(rest[0]):
        head, rest = f"{head} {rest[0]}", rest[1:]
    if rest:
        sub = rest[0]
        if (
            4 <= len(sub) <= 30 and not _PUNCT.search(sub) and not _PUNCT.search(head[-1:])
            and re.match(r"[\u4e00-\u9fff“《（(A-Za-z0-9]", sub)
            and not _ISSUER.fullmatch(sub) and not _text_starts_at(sub, 0)
            and not any(sub[i : i + 6] in head for i in range(len(sub) - 5))  # '福建省推出“八闽健康码”' twice
        ):
            head = f"{head} {sub}"
    return head


def _cut_headline(title: str) -> str:
    """Cut a headline where running text starts; a column tag ('【今日头条】') goes, and the length is capped."""
    title = re.sub(r"^【[^】]{1,20}】", "", title)
    cut = len(title)
    for pattern in _TEXT_STARTS:
        for m in pattern.finditer(title, 0, cut):
            if m.start() >= _MIN_HEADLINE:
                cut = min(cut, m.start())
                break
    for m in re.finditer(r"[！？!?]", title[:cut]):
        rest = re.split(r"[。！？!?]", title[m.end() : cut])[0]
        if m.end() >= _MIN_HEADLINE and re.search(r"[，,]", rest):
            cut = m.end()  # '…渡过难关！当前，疫情…'; a run of questions without commas is the headline
            break
    for p in range(8, min(cut, 120)):
        if title[p : p + 8] == title[:8]:
            cut = min(cut, p)  # the headline repeated
            break
    title = title[:cut].strip()
    return title if len(title) <= MAX_TITLE else title[:MAX_TITLE] + "…"


def _extract_date(text: str, fields: dict[str, str]) -> str:
    if fields.get("date"):
        m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", fields["date"])
        if m:
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    m = re.search(r"(?:发布时间|发布日期|发文日期|印发日期|日期)[：:]\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    # A signature date on its own line at the end of an official document.
    m = re.search(r"\n\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*$", text[-300:])
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return ""


def _extract_region(title: str, text: str) -> tuple[str, list[str]]:
    """The most specific region named in the title (else the one the opening text names most), plus the regions
    containing it: ('无锡市江阴市', ['江苏省', '无锡市', '无锡市江阴市'])."""
    source = title
    mention = _title_place(title, text[:_CONTEXT])
    if mention is None:
        source = text[:_CONTEXT]
        mention = _text_place(source)
    if mention is None:
        return "", []
    place = mention.place
    if place.level != "county":
        return place.name, list(dict.fromkeys([place.province, place.name]))
    name = place.name
    suffix = source[mention.end : mention.end + 1]
    if mention.form == place.short and suffix and suffix in "县市区旗":
        name = place.short + suffix  # as written: a county renamed since the gazetteer was made (县 -> 市)
    label = name if place.city in ("", place.name) else place.city + name
    return label, [r for r in dict.fromkeys([place.province, place.city, label]) if r]


_ADDRESSEES = re.compile(r"各[^。；！？：:]{1,80}[：:]")
_CONTEXT = 4000  # characters of the text read for the region: the opening names the issuer and the addressees


def _title_place(title: str, text: str) -> Mention | None:
    """The first place of the title, narrowed by the places written right after it that lie within it
    ('无锡市江阴市…' -> 江阴市, '湖北黄冈：…' -> 黄冈); a place named further on is a subject, not the region.
    A name several divisions share (鼓楼区) is resolved by the places the text names."""
    found = [m for m in find_places(title + "\n" + text) if m.start < len(title) and len(m.places) == 1]
    if not found:
        return None
    best = found[0]
    for m in found[1:]:
        if title[best.end : m.start].strip(" \u3000：:·、") or best.place.name not in m.place.parents:
            break
        best = m
    return best


def _text_place(text: str) -> Mention | None:
    """The place the text names most often. When several are named as often, the deepest if they lie one within
    another, else none (a national notice naming provinces in passing). Places in an addressee line ('各省、自治区、
    直辖市人民政府，新疆生产建设兵团：') are recipients, not the region. A county counts only when written in full:
    a bare 2-character county name in running text is too often a person, a road or a brand."""
    addressees = [m.span() for m in _ADDRESSEES.finditer(text)]
    mentions = [
        m for m in find_places(text)
        if len(m.places) == 1 and (m.place.level != "county" or m.form == m.place.name)
        and not any(a <= m.start < b for a, b in addressees)
    ]
    counts = Counter(m.place for m in mentions)
    if not counts:
        return None
    top = max(counts.values())
    tied = sorted((p for p, n in counts.items() if n == top), key=lambda p: len(p.parents))
    if any(outer.name not in inner.parents for outer, inner in zip(tied, tied[1:])):
        return None
    return next(m for m in mentions if m.place == tied[-1])


def extract_metadata(body: str, fields: dict[str, str], source: str = "") -> dict:
    """Title, issuers, date, region(s) and source link from normalised body text and front-matter fields
    (`source`, the body before normalisation, keeps the spaces that stand for lost line breaks)."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    title = _extract_title(lines, fields, source)
    region, regions = _extract_region(title + " " + fields.get("title", ""), body)
    link = ""
    m = re.search(r"https?://[^\s<>\"'）)]+", body)
    if m:
        link = m.group(0)
    from .official import extract_official

    headlines = [fields.get("title", ""), *(ln[:200] for ln in lines[:3])]
    official = extract_official(body, source, fields, headlines)
    return {
        "title": title,
        "date": _extract_date(body, fields) or official["published"] or official["written"],
        "region": region,
        "regions": regions,
        "link": link,
        **official,
    }
