"""Build rag/data/places.tsv, the gazetteer of China's provinces, prefectures and counties, from the `cpca` package.

    pip install cpca && python scripts/build_gazetteer.py [--out rag/data/places.tsv]

cpca (MIT licence, https://github.com/DQinYuan/chinese_province_city_area_mapper) ships resources/adcodes.csv, a
table of every administrative division with its 12-digit code; this script reads that file directly (cpca itself
is never imported, so its pandas/pkg_resources dependencies do not matter) and writes one row per division:

    name  short  level  province  city  match

`short` is the name without its administrative suffix (河北省 -> 河北, 延边朝鲜族自治州 -> 延边, 海淀区 -> 海淀);
`match` lists the forms `rag.places` recognises in text. The rules that decide `match` are general, so no
place is singled out by hand:
- a full name of two characters (城区, 郊区, 矿区, 和县) is not matched: such a name is an ordinary word or sits
  inside one (省、市和县级…);
- a one-character short form is never matched (沛县 -> 沛);
- a form shared by several divisions belongs to the highest level only (吉林 is the province, not 吉林市; 朝阳 is
  朝阳市, so the districts named 朝阳区 are found only in full), and a short form shared within that level to none;
- a county's short form is not matched when it is an ordinary word (see `ordinary_word_rule`: 资源县, 合作市,
  商城县, 长寿区 are found only in full);
- a county renamed since the table was made (县 -> 市 or 区) is still found by its short form when that is matched.
At run time a bare short form also has to fall on the text's word boundaries (rag/places.py).
The generated file is committed; the package reads it without cpca installed.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "rag" / "data" / "places.tsv"
LEVELS = ("province", "city", "county")
MUNICIPALITIES = ("11", "12", "31", "50")  # 北京 天津 上海 重庆: their districts have no prefecture between
PROPER_NOUN_TAGS = {"ns", "nr", "nrt", "nrfg", "nz", "nt"}  # jieba: place, person, other proper nouns
_PSEUDO = re.compile(r"^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$")
_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")


def cpca_files() -> tuple[Path, Path, str, str]:
    """Paths of cpca's adcodes.csv and 56_nations.csv, its version and licence (read from the installed package)."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("cpca is not installed: pip install cpca")
    pkg = Path(list(spec.submodule_search_locations)[0])
    meta = importlib.metadata.metadata("cpca")
    return (pkg / "resources" / "adcodes.csv", pkg / "resources" / "56_nations.csv",
            importlib.metadata.version("cpca"), meta.get("License") or "MIT")


def short_form(name: str, level: str, nations: list[str]) -> str:
    """The name without its administrative suffix and ethnic-autonomy qualifiers ('' when one character is left)."""
    if level == "province":
        short = _PROVINCE_SUFFIX.sub("", name)
    else:
        short = name
        m = re.search(r"自治(州|县|旗)$", short)
        if m:
            short = short[: m.start()]
            changed = True
            while changed:  # 黔东南苗族侗族 -> 黔东南; 克孜勒苏柯尔克孜 -> 克孜勒苏
                changed = False
                for nation in nations:
                    for form in (nation, nation.removesuffix("族")):
                        if form and short.endswith(form) and len(short) - len(form) >= 2:
                            short = short[: -len(form)]
                            changed = True
                            break
                    if changed:
                        break
        else:
            for suffixes in (("新区", "矿区", "林区", "特区", "地区"), ("区", "县", "市", "旗", "盟")):
                hit = next((s for s in suffixes if short.endswith(s) and len(short) - len(s) >= 2), "")
                if hit:
                    short = short[: -len(hit)]
                    break
    return short if len(short) >= 2 and short != name else ""


def read_divisions(adcodes: Path, nations: list[str]) -> list[dict]:
    """One dict per real division (pseudo prefectures such as 市辖区 skipped), with province and city names."""
    rows = {}
    with adcodes.open(encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            rows[rec["adcode"][:6]] = rec["name"].strip()
    out = []
    for code, name in sorted(rows.items()):
        if _PSEUDO.match(name):
            continue
        if code.endswith("0000"):
            level = "province"
        elif code.endswith("00"):
            level = "city"
        else:
            level = "county"
        province = rows.get(code[:2] + "0000", "")
        city = ""
        if level == "county":
            parent = rows.get(code[:4] + "00", "")
            if parent and not _PSEUDO.match(parent):
                city = parent
            elif code[:2] in MUNICIPALITIES:
                city = province
        out.append({"code": code, "name": name, "short": short_form(name, level, nations), "level": level,
                    "province": province if level != "province" else name, "city": city})
    return out


def jieba_dictionary() -> tuple[dict[str, int], dict[str, str]]:
    """jieba's dictionary: word -> frequency, word -> part-of-speech tag."""
    spec = importlib.util.find_spec("jieba")
    path = Path(list(spec.submodule_search_locations)[0]) / "dict.txt"
    freq, tags = {}, {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                freq[parts[0]], tags[parts[0]] = int(parts[1]), parts[2]
    return freq, tags


def bare_ratio(d: dict, freq: dict[str, int]) -> float:
    """How much more often jieba's corpus has the short form than the full name (add-one smoothed)."""
    return (freq.get(d["short"], 0) + 1) / (freq.get(d["name"], 0) + 1)


def ordinary_word_rule(divisions: list[dict]):
    """The test for a county's short form being an ordinary word, and the ratio limit it derives from the data.

    jieba's tags for place names are unreliable (合肥 n, 保定 v, 温泉 nr), so two signals are combined:
    - jieba tags the form as an ordinary word (not a place, person or other proper noun): 资源 延长 通道 公安;
    - jieba's corpus has the bare form far more often than the full name, more than for 90% of the prefecture-level
      cities (whose bare names are how people name them): 商城 (1270 vs 商城县 4), 长寿, 吉利, 共和, 温泉, 友谊.
    """
    freq, tags = jieba_dictionary()
    city_ratios = sorted(bare_ratio(d, freq) for d in divisions if d["level"] == "city" and d["short"])
    limit = city_ratios[int(0.9 * (len(city_ratios) - 1))]

    def common_word(form: str, d: dict) -> bool:
        if d["level"] != "county":
            return False
        return tags.get(form, "ns") not in PROPER_NOUN_TAGS or bare_ratio(d, freq) > limit

    return common_word, limit


def choose_matches(divisions: list[dict], common_word) -> None:
    """Fill each division's `match`: the forms recognised in text (see the module docstring for the rules)."""
    owners: dict[str, list[dict]] = defaultdict(list)
    for d in divisions:
        owners[d["name"]].append(d)
        if d["short"]:
            owners[d["short"]].append(d)

    def owned(form: str, d: dict) -> bool:
        """Does d hold the form: no higher-level division uses it, nor another of d's level (for short forms)?"""
        top = min(LEVELS.index(o["level"]) for o in owners[form])
        if LEVELS.index(d["level"]) != top:
            return False
        return form == d["name"] or [o for o in owners[form] if LEVELS.index(o["level"]) == top] == [d]

    for d in divisions:
        forms = []
        if len(d["name"]) > 2 and owned(d["name"], d):
            forms.append(d["name"])
        s = d["short"]
        if s and owned(s, d) and (d["level"] == "province" or not common_word(s, d)):
            forms.append(s)
        d["match"] = forms


def write(divisions: list[dict], out: Path, version: str, licence: str, limit: float) -> None:
    """The TSV with a header comment naming the source, its version and licence."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        f.write(
            "# Gazetteer of China's administrative divisions: provinces, prefectures, counties/districts.\n"
            f"# Source: cpca {version} (resources/adcodes.csv), {licence} licence, "
            "https://github.com/DQinYuan/chinese_province_city_area_mapper\n"
            "# Generated by scripts/build_gazetteer.py; do not edit by hand, rebuild instead.\n"
            f"# A county's short form is matched unless jieba {importlib.metadata.version('jieba')}'s dictionary knows it\n"
            f"# as an ordinary word or has it over {limit:.1f} times as often as the full name (the 90th percentile of\n"
            "# that ratio over prefecture-level cities).\n"
            "# Columns: name, short (name without its suffix), level (province|city|county), province, city,\n"
            "# match (space-separated forms recognised in text; '-' for none).\n"
            "name\tshort\tlevel\tprovince\tcity\tmatch\n"
        )
        for d in divisions:
            f.write("\t".join([d["name"], d["short"], d["level"], d["province"], d["city"],
                               " ".join(d["match"]) or "-"]) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    adcodes, nations_csv, version, licence = cpca_files()
    nations = [n.strip() for n in nations_csv.read_text(encoding="utf-8").split() if n.strip()]
    nations.sort(key=len, reverse=True)
    divisions = read_divisions(adcodes, nations)
    common_word, limit = ordinary_word_rule(divisions)
    choose_matches(divisions, common_word)
    write(divisions, args.out, version, licence, limit)
    counts = {lv: sum(d["level"] == lv for d in divisions) for lv in LEVELS}
    forms = sum(len(d["match"]) for d in divisions)
    print(f"{args.out}: {len(divisions)} divisions {counts}, {forms} matched forms")


if __name__ == "__main__":
    main()
