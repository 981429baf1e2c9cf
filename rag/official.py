"""Official metadata of a policy document, read from its text by general patterns of Chinese official writing:
发文字号 (X政办〔2024〕12号), issuing bodies, 成文日期 / 发布日期 / 施行日期, period of validity (有效期至…),
repeal notes (…同时废止) and the revisions a statute lists in its preamble.

Nothing here knows a particular document: every rule reads the shape of official text (the 〔year〕 brackets of a
文号, a signature block of bodies and a date at the end, '本办法自…起施行'). Dates are ISO 'YYYY-MM-DD' strings.
`OFFICIAL_VERSION` is recorded in each document's metadata; an index stored by an older version has its official
fields read again from the stored text when it is loaded (no re-embedding, nothing lost).
"""

from __future__ import annotations

import re
from datetime import date

OFFICIAL_VERSION = 1
OFFICIAL_FIELDS = ("doc_number", "issuers", "written", "published", "effective", "valid_until", "valid_until_text",
                   "repeals", "revisions")

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN = "〇○零Ｏ一二三四五六七八九十"
DATE = rf"(?:\d{{4}}|[{_CN}]{{4}})\s*年\s*(?:\d{{1,2}}|[{_CN}]{{1,3}})\s*月\s*(?:\d{{1,2}}|[{_CN}]{{1,3}})\s*日"
_DATE_RE = re.compile(DATE)
_ISO_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
# 文号: issuer abbreviation, the year in 〔〕 (or look-alike brackets), the serial number and 号.
_BRACKETS = r"[〔\[［【(（]"
_CLOSE = r"[〕\]］】)）]"
DOC_NUMBER = rf"[\u4e00-\u9fffA-Za-z]{{1,12}}\s*{_BRACKETS}\s*(?:19|20)\d{{2}}\s*{_CLOSE}\s*第?\s*\d{{1,4}}\s*号"
_DOC_NUMBER_RE = re.compile(DOC_NUMBER)
_ANNOUNCEMENT_NO = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff \u3000]{0,20}公告\s*(?:19|20)\d{2}\s*年\s*第\s*\d{1,4}\s*号")
# Words before a 文号 that make it someone else's: a cited document ('《…》（国发〔2019〕23号）'), 'according to'.
_CITED_BEFORE = re.compile(r"(?:》\s*[（(]?|根据|按照|依据|依照|参照|贯彻|落实|转发|印发|执行|精神)\s*$")
_FIELD_NUMBER = re.compile(rf"(?:发文字号|发布文号|文\s*号|发文号)\s*[】\]]?\s*[：:]?\s*({DOC_NUMBER})")
_BODY_SUFFIX = (r"(?:人民代表大会常务委员会|人民政府办公厅|人民政府办公室|人民政府|委员会办公室|委员会|领导小组办公室|"
                r"领导小组|指挥部|联防联控机制|工作机制|管理委员会|管委会|办公厅|办公室|总局|总署|税务局|银行|法院|检察院|"
                r"部|局|署|厅|委|办|院|会|中心|分行|支行)")
_BODY = re.compile(rf"(?!关于|转发|印发)(?:(?!关于|的|通知|公告)[\u4e00-\u9fff（）()]){{2,30}}?{_BODY_SUFFIX}")
_SUB_UNIT = re.compile(r"办公厅|办公室|(?:分|支)(?:行|局)|.{1,2}办")  # attaches to the body before it
_STATUTE_BODY = re.compile(r"([^\s\d第届日年月]{0,8}?)(?:第[一二三四五六七八九十]+届)?([^\s\d第届日年月]{0,4}?)(人民代表大会(?:常务委员会)?)第")
_DOC_SELF = r"本(?:通知|通告|公告|办法|措施|意见|规定|条例|方案|细则|政策|决定|规则|实施意见|实施细则|若干措施|指引|指南|计划|行动计划|文件|法)"
EFFECTIVE = re.compile(rf"(?:{_DOC_SELF}[^。；\n]{{0,10}}?|^[\s\d一二三四五六七八九十、.．（）()第条]*)自\s*({DATE}|公布之日|发布之日|印发之日|公告之日|即日|发文之日|下发之日)\s*起\s*(?:施行|执行|实施|生效)")
_VALID_UNTIL = re.compile(rf"有效期\s*(?:至|到|截至|截止到?)\s*({DATE}|[^，。；\n]{{2,30}})")
VALID_YEARS = re.compile(r"有效期\s*(?:为)?\s*([一二三四五两\d]{1,2})\s*年")
_REPEAL = re.compile(r"(?:同时|予以|一并)?废止|同时停止执行|不再执行")
_TITLE_IN = re.compile(r"《([^《》]{2,80})》")
# a statute's preamble: '<date> <legislature or government> … 通过/修订/修正/批准/公布'
_REVISION = re.compile(rf"({DATE})[^。\n]{{0,60}}?(?:人民代表大会|常务委员会|国务院|人民政府)[^。\n]{{0,80}}?"
                       rf"(?:修订|修正|通过|公布|批准)")
_INFO_END = re.compile(r"<!--\s*INFO END\s*-->|^第[一二三四五六七八九十]+章|^第一条", re.M)


def cn_date(text: str) -> str:
    """'2024年3月1日', '二〇二四年三月一日' or '2024-03-01' as '2024-03-01'; '' when it is not a valid date."""
    text = re.sub(r"\s", "", text or "")
    m = _ISO_RE.fullmatch(text) or _ISO_RE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(rf"([{_CN}\d]{{4}})年([{_CN}\d]{{1,3}})月([{_CN}\d]{{1,3}})日", text)
        if not m:
            return ""
        y, mo, d = (_cn_int(g) for g in m.groups())
    try:
        return date(y, mo, d).isoformat()
    except (TypeError, ValueError):
        return ""


def _cn_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if len(s) == 4:  # a year, digit by digit: 二〇二四
        return int("".join(str(_CN_DIGITS.get(c, 0)) for c in s))
    if "十" in s:  # 十, 十二, 二十, 二十一
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(s) if len(s) == 1 else None


def _compact(number: str) -> str:
    """A 文号 written as it is filed: no spaces, 〔〕 brackets, no 第 before the serial."""
    number = re.sub(r"\s", "", number)
    number = re.sub(_BRACKETS + r"((?:19|20)\d{2})" + _CLOSE, r"〔\1〕", number)
    return re.sub(r"〕第", "〕", number)


def doc_number(body: str, fields: dict[str, str] | None = None) -> str:
    """The document's own 发文字号: a labelled field, else the first 文号 of the opening that is not a citation of
    another document ('《…》（国发〔2019〕23号）', '根据…'), else one standing alone in the closing lines."""
    fields = fields or {}
    for key in ("doc_number", "文号", "发文字号"):
        if fields.get(key):
            return _compact(fields[key])
    m = _FIELD_NUMBER.search(body[:3000])
    if m:
        return _compact(m.group(1))
    head = body[:400]
    for pattern in (_DOC_NUMBER_RE, _ANNOUNCEMENT_NO):
        for m in pattern.finditer(head):
            before = head[max(0, m.start() - 12): m.start()]
            if _CITED_BEFORE.search(before) or _inside_parens(head, m.start()):
                continue
            return _compact(_trim_number(m.group(0)))
    tail = body[-300:]
    for m in _DOC_NUMBER_RE.finditer(body):  # '京建发〔2020〕46号附件': the label of its own attachment
        if body.startswith("附件", m.end()):
            return _compact(_trim_number(m.group(0)))
    for m in _DOC_NUMBER_RE.finditer(tail):
        line_start = tail.rfind("\n", 0, m.start()) + 1
        if not tail[line_start: m.start()].strip() and not _inside_parens(tail, m.start()):
            return _compact(_trim_number(m.group(0)))
    return ""


def _inside_parens(text: str, pos: int) -> bool:
    before = text[max(0, pos - 40): pos]
    return before.rfind("（") > before.rfind("）") or before.rfind("(") > before.rfind(")")


def _trim_number(number: str) -> str:
    """Drop words glued before an issuer abbreviation by a lost line break ('…的通知国卫办医函〔2020〕83号')."""
    m = re.search(_BRACKETS, number) or re.search(r"公告\s*(?:19|20)\d{2}", number)
    split = m.start() if m else 0
    head = number[:split]
    last = None
    for last in re.finditer(r"通知|通告|公告|意见|办法|文件|决定|方案|的|：|:", head):
        pass
    if last is not None and last.end() < len(head):
        head = head[last.end():]
    return head + number[split:]


def split_bodies(text: str) -> list[str]:
    """Issuing bodies written one after another ('财政部 海关总署 税务总局', or run together without spaces);
    [] unless the whole text is such a list."""
    pieces = [p for p in re.split(r"[\s\u3000、，,]+", text.strip()) if p]
    out: list[str] = []
    for piece in pieces:
        piece = re.sub(r"^(?:转发|印发)|(?:转发|印发|发布)$", "", piece)
        run: list[str] = []
        for r in re.findall(rf".+?{_BODY_SUFFIX}", piece):
            if run and (_SUB_UNIT.fullmatch(r) or r.endswith(("分行", "支行", "分局"))):
                run[-1] += r  # '国家卫生健康委' + '办公厅'
            else:
                run.append(r)
        if run and "".join(run) == piece and all(len(r) >= 3 and _BODY.fullmatch(r) for r in run):
            out.extend(run)  # '财政部海关总署税务总局'
        elif _BODY.fullmatch(piece) and len(piece) <= 20:
            out.append(piece)
        else:
            return []
    return out


def _distinct(bodies: list[str]) -> list[str]:
    """Bodies without repeats, a short form ('昌平区经济和信息化局') dropped beside its full name."""
    out = list(dict.fromkeys(bodies))
    return [b for b in out if not any(o != b and o.endswith(b) for o in out)]


def title_issuers(headline: str) -> list[str]:
    """The bodies named before 关于 in an official title ('X省人民政府办公厅关于印发…的通知')."""
    m = re.match(r"^\s*(.{2,120}?)\s*关于", headline or "")
    return split_bodies(m.group(1)) if m else []


def signature(body: str) -> tuple[list[str], str]:
    """Issuing bodies and the date of the signature block that closes an official document (成文日期)."""
    tail = re.sub(r"[（(][^（）()]{1,30}[）)]\s*$", "", body.rstrip()).rstrip()[-400:]
    m = None
    for m in _DATE_RE.finditer(tail):
        pass
    if m is None or tail[m.end():].strip(" \u3000）)（(印发") or not re.search(r"[\s\u3000]$|[。！]$|^$|" + _BODY_SUFFIX + "$",
                                                                            tail[: m.start()].rstrip(" \u3000")[-40:] or " "):
        return [], ""
    written = cn_date(m.group(0))
    before = tail[: m.start()]
    cut = max(before.rfind(c) for c in "。！；：:\n") if not re.search(r"[。！；：:]\s*$", before) else -1
    block = before[cut + 1:] if cut >= 0 else before[-80:]
    pieces = [p for p in re.split(r"[\s\u3000]+", block.strip()) if p]
    bodies: list[str] = []
    for piece in reversed(pieces):  # from the date backwards, while the pieces are bodies
        found = split_bodies(piece)
        if not found:
            break
        bodies = found + bodies
    return bodies, written


def statute_facts(body: str) -> tuple[list[str], list[str]]:
    """For a statute: the legislature that passed it and the dates of passing and each revision, from its preamble
    ('2020年10月17日 第十三届全国人民代表大会常务委员会第二十二次会议…第四次修正')."""
    end = _INFO_END.search(body)
    preamble = body[: end.start()] if end else body[:600]
    if len(preamble) > 1500:
        return [], []
    dates = list(dict.fromkeys(cn_date(m.group(1)) for m in _REVISION.finditer(preamble)))
    bodies = list(dict.fromkeys("".join(m.groups()) for m in _STATUTE_BODY.finditer(re.sub(r"\d日", " ", preamble))))
    return [b for b in bodies if b], [d for d in dates if d]


def repeals(body: str) -> list[str]:
    """What the document repeals: titles in 《》 (and 文号) of sentences that say 同时废止 / 停止执行."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[。；\n])", body):
        m = _REPEAL.search(sentence)
        if not m or re.search(r"[废止]{2}.{0,6}(?:条款|规定)的?(?:情形|行为)", sentence):
            continue
        before = sentence[: m.start()]
        for t in _TITLE_IN.findall(before):
            out.append(t.strip())
        for n in _DOC_NUMBER_RE.findall(before):
            out.append(_compact(n))
    return list(dict.fromkeys(out))


def effective_and_validity(body: str, written: str, published: str) -> tuple[str, str, str]:
    """(施行日期, 有效期至 as a date, 有效期至 as written when it is not a date) from '本办法自…起施行，有效期至…'."""
    effective = valid = valid_text = ""
    for sentence in re.split(r"(?<=[。；\n])", body):
        m = EFFECTIVE.search(sentence)
        if m and not effective:
            when = m.group(1)
            effective = cn_date(when) or (published or written if when.endswith("之日") or when == "即日" else "")
        about_self = re.search(_DOC_SELF, sentence) or m
        if not about_self or valid or valid_text:
            continue
        v = _VALID_UNTIL.search(sentence)
        if v:
            valid = cn_date(v.group(1))
            valid_text = "" if valid else re.sub(r"(?:之日)?止$", "", re.split(r"[（(]", v.group(1))[0]).strip()
            continue
        y = VALID_YEARS.search(sentence)
        start = effective or published or written
        if y and start:
            years = _cn_int(y.group(1).replace("两", "二"))
            if years:
                d = date.fromisoformat(start)
                try:
                    end = d.replace(year=d.year + years)
                except ValueError:  # 29 February
                    end = d.replace(year=d.year + years, day=28)
                valid = end.fromordinal(end.toordinal() - 1).isoformat()
    return effective, valid, valid_text


def labelled_date(body: str, labels: str) -> str:
    """A date after one of the labels ('发布日期：2024-03-01', '成文日期：2024年3月1日')."""
    m = re.search(rf"(?:{labels})\s*[】\]]?\s*[：:]?\s*(\d{{4}}[-/.年]\d{{1,2}}[-/.月]\d{{1,2}}日?|{DATE})", body[:3000])
    return cn_date(m.group(1)) if m else ""


def source_issuers(body: str) -> list[str]:
    """Bodies named in a '来源：' / '发布机构：' line of a web page."""
    m = re.search(r"(?:来源|发布机构|发文机关|发布机关|发文单位)\s*[】\]]?\s*[：:]?\s*([^\s，。]{2,40})", body[:3000])
    return split_bodies(m.group(1)) if m else []


def extract_official(body: str, source: str = "", fields: dict[str, str] | None = None,
                     headlines: list[str] | None = None) -> dict:
    """Every official field of one document (see module docstring). `body` is the normalised text, `source` the
    text as written (its spaces and line breaks separate the bodies of a signature block), `headlines` the title
    lines that may name the issuing bodies before 关于."""
    fields = fields or {}
    source = source or body
    signed_by, signed_on = signature(source)
    issuers = next((found for h in headlines or [] if (found := title_issuers(h))), [])
    issuers += source_issuers(body)
    statute_bodies, revisions = statute_facts(body)
    written = labelled_date(body, "成文日期|印发日期|发文日期") or signed_on
    published = labelled_date(body, "发布日期|发布时间|公布日期|公开日期") or cn_date(fields.get("published", ""))
    if not published and revisions:
        published = revisions[-1]  # a statute is in force as last revised
    effective, valid, valid_text = effective_and_validity(body, written, published)
    all_issuers = _distinct([*issuers, *statute_bodies, *signed_by])
    return {
        "doc_number": doc_number(source, fields),
        "issuers": all_issuers,
        "written": written,
        "published": published,
        "effective": effective,
        "valid_until": valid,
        "valid_until_text": valid_text,
        "repeals": repeals(body),
        "revisions": revisions,
        "official_version": OFFICIAL_VERSION,
    }


def ensure_official(metadata: dict, title: str, source: str) -> bool:
    """Fill in the official fields of a document's metadata stored by an older version (in place), from its
    stored text; True if it did."""
    if metadata.get("official_version") == OFFICIAL_VERSION:
        return False
    from .textnorm import normalize_text

    body = normalize_text(source)
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    metadata.update(extract_official(body, source, {}, [title, first[:200]]))
    return True
