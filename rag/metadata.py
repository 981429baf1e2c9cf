"""Document metadata read from the text itself: title, issuing bodies, date, region, source link."""

from __future__ import annotations

import re
from collections import Counter

# Provinces and the cities users most often ask about; a city maps to its province so filters work at both levels.
PROVINCE_CITIES: dict[str, list[str]] = {
    "北京市": [], "天津市": [], "上海市": [], "重庆市": [],
    "河北省": ["石家庄", "唐山", "保定", "廊坊", "邯郸", "雄安"],
    "山西省": ["太原", "晋中", "大同", "长治", "临汾", "运城"],
    "内蒙古自治区": ["呼和浩特", "包头", "鄂尔多斯"],
    "辽宁省": ["沈阳", "大连", "鞍山"],
    "吉林省": ["长春", "吉林市"],
    "黑龙江省": ["哈尔滨", "大庆", "齐齐哈尔"],
    "江苏省": ["南京", "苏州", "无锡", "常州", "南通", "徐州", "扬州", "泰州", "镇江", "盐城"],
    "浙江省": ["杭州", "宁波", "温州", "绍兴", "嘉兴", "湖州", "金华", "台州", "越城"],
    "安徽省": ["合肥", "芜湖", "蚌埠", "安庆"],
    "福建省": ["福州", "厦门", "泉州", "漳州"],
    "江西省": ["南昌", "赣州", "九江", "进贤"],
    "山东省": ["济南", "青岛", "烟台", "潍坊", "威海", "淄博", "临沂", "济宁"],
    "河南省": ["郑州", "洛阳", "新乡", "安阳", "商丘", "信阳", "开封", "南阳", "许昌", "长垣", "周口", "驻马店"],
    "湖北省": ["武汉", "宜昌", "襄阳"],
    "湖南省": ["长沙", "株洲", "湘潭", "岳阳"],
    "广东省": ["广州", "深圳", "珠海", "东莞", "佛山", "中山", "惠州", "汕头"],
    "广西壮族自治区": ["南宁", "柳州", "桂林"],
    "海南省": ["海口", "三亚"],
    "四川省": ["成都", "绵阳", "德阳"],
    "贵州省": ["贵阳", "遵义"],
    "云南省": ["昆明", "玉溪"],
    "西藏自治区": ["拉萨"],
    "陕西省": ["西安", "宝鸡", "咸阳"],
    "甘肃省": ["兰州", "天水"],
    "青海省": ["西宁"],
    "宁夏回族自治区": ["银川"],
    "新疆维吾尔自治区": ["乌鲁木齐"],
    "香港特别行政区": [], "澳门特别行政区": [], "台湾省": [],
}
_SHORT_PROVINCE = {re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", p): p for p in PROVINCE_CITIES}
CITY_TO_PROVINCE = {c: p for p, cs in PROVINCE_CITIES.items() for c in cs}
# Districts and county-level cities named in titles, with the city they belong to.
DISTRICT_CITY = {"越城": "绍兴", "长垣": "新乡", "进贤": "南昌"}


def place_names() -> list[str]:
    """Every place name the gazetteer knows (short forms), longest first, for matching in questions."""
    names = set(_SHORT_PROVINCE) | set(CITY_TO_PROVINCE)
    return sorted(names, key=len, reverse=True)


def places_in(text: str) -> list[str]:
    """Place names (short forms) mentioned in text, in order of first mention."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for name in place_names():
        for m in re.finditer(re.escape(name), text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), name))
    seen: list[str] = []
    for _, n in sorted(found):
        if n not in seen:
            seen.append(n)
    return seen


def province_of(place: str) -> str:
    """The province a short place name belongs to ('' when unknown)."""
    if place in _SHORT_PROVINCE:
        return _SHORT_PROVINCE[place]
    return CITY_TO_PROVINCE.get(place, "")


def _extract_title(lines: list[str], fields: dict[str, str]) -> str:
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


def _extract_issuers(lines: list[str], fields: dict[str, str]) -> list[str]:
    issuers: list[str] = []
    for c in [fields.get("title", "")] + lines[:6]:
        m = re.match(r"^(.{4,120}?)关于", c or "")
        if m:
            issuers = re.findall(
                r".+?(?:人民政府办公厅|人民政府办公室|委员会办公室|委员会|办公厅|办公室|人民政府|管委会|局|厅|部|委)", m.group(1)
            )
            if issuers:
                break
    for line in lines[:10]:
        m = re.search(r"来源[：:]\s*([^\s发]+?(?:委员会|政府|局|厅|部|委|办|报|网))", line)
        if m and m.group(1) not in issuers:
            issuers.append(m.group(1))
    return issuers


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
    """The most specific region named in the title (else the most mentioned one), plus its province."""
    in_title = places_in(title)
    if in_title:
        cities = [p for p in in_title if p in CITY_TO_PROVINCE]
        main = cities[-1] if cities else in_title[0]
    else:
        counts = Counter(n for n in _all_mentions(text[:4000]))
        if not counts:
            return "", []
        main = counts.most_common(1)[0][0]
    province = province_of(main)
    if main in _SHORT_PROVINCE:
        return province, [province]
    city = DISTRICT_CITY.get(main, main if main.endswith("市") else main)
    city_label = city if city.endswith("市") else city + "市"
    label = f"{city_label}{main}区" if main in DISTRICT_CITY else city_label
    regions = [r for r in dict.fromkeys([province, city_label, label]) if r]
    return label, regions


def _all_mentions(text: str) -> list[str]:
    out = []
    for name in place_names():
        out.extend([name] * len(re.findall(re.escape(name), text)))
    return out


def extract_metadata(body: str, fields: dict[str, str]) -> dict:
    """Title, issuers, date, region(s) and source link from normalised body text and front-matter fields."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    title = _extract_title(lines, fields)
    region, regions = _extract_region(title + " " + fields.get("title", ""), body)
    link = ""
    m = re.search(r"https?://[^\s<>\"'）)]+", body)
    if m:
        link = m.group(0)
    return {
        "title": title,
        "issuers": _extract_issuers(lines, fields),
        "date": _extract_date(body, fields),
        "region": region,
        "regions": regions,
        "link": link,
    }
