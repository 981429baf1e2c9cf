"""Places come from a gazetteer of every province, prefecture and county (rag/data/places.tsv, built from cpca)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from rag.metadata import _extract_region
from rag.places import GAZETTEER, city_of, find_places, gazetteer, parent_names, places_in, province_of

from .conftest import ROOT


def test_gazetteer_file_names_its_source_and_covers_every_level():
    head = GAZETTEER.read_text(encoding="utf-8")[:1000]
    assert "cpca" in head and "MIT" in head
    g = gazetteer()
    levels = {lv: sum(p.level == lv for p in g.places) for lv in ("province", "city", "county")}
    assert levels["province"] == 34 and levels["city"] > 300 and levels["county"] > 2800
    assert all(len(form) >= 2 for form in g.forms)
    assert not {"城区", "郊区", "矿区", "和县"} & set(g.forms)  # two-character names are ordinary words


@pytest.mark.skipif(importlib.util.find_spec("cpca") is None, reason="cpca is only needed to rebuild the gazetteer")
def test_committed_gazetteer_is_what_the_build_script_makes(tmp_path):
    out = tmp_path / "places.tsv"
    subprocess.run([sys.executable, "scripts/build_gazetteer.py", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    assert out.read_text(encoding="utf-8") == GAZETTEER.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text, places",
    [
        ("河南省新乡市长垣市的医疗器械产业", ["河南", "新乡", "长垣"]),  # full names, longest first
        ("河南新乡长垣", ["河南", "新乡", "长垣"]),  # short forms
        ("绍兴市越城区和越城", ["绍兴", "越城"]),
        ("深圳和绍兴越城区分别提出了什么产业规模目标？", ["深圳", "绍兴", "越城"]),
        ("浙江西部", ["浙江"]),  # leftmost first: not 江西
        ("广西自治区推出的五级", ["广西"]),
        ("陕西省政府在援企稳岗方面有哪些举措？", ["陕西"]),  # a province inside an organisation's name
        ("兰州市长张伟文在中海国际等楼宇调研", ["兰州"]),  # 兰州市|长 is 兰州|市长
        ("上海浦东机场为防范疫情都做了什么？", ["上海", "浦东"]),
        ("吉林市和吉林省", ["吉林市", "吉林"]),  # the province owns 吉林; the city keeps its full name
    ],
)
def test_places_in_finds_full_and_short_names(text, places):
    assert places_in(text) == places


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary words of real questions (eval/qa.jsonl, ncp2020 dev) that are also county or city names.
        "省城乡居民在规定延长缴费期内缴纳",  # 延长县
        "发挥医疗资源集中效应",  # 资源县
        "哪些服务开通了绿色通道？",  # 通道侗族自治县
        "公安交管对因逾期未换证的",  # 公安县
        "医院共收治多少名新冠肺炎患者",  # 治多县 across 收治|多少
        "如何做好邮政和快递行业的疫情防控",  # 政和县 across 邮政|和
        "设置几个应急物资中转站？",  # 资中县
        "“一站四中心四平台”里的四个平台",  # 四平市 across 四|平台
        "看家护院、邻里互助",  # 互助土族自治县
        "加强合作市场监管",  # 合作市 across 合作|市场
        "长治久安", "阿里巴巴",  # a city name inside another word
        "城区、郊区和矿区",  # two-character district names
    ],
)
def test_no_place_in_ordinary_words(text):
    assert places_in(text) == []


def test_a_shared_district_name_is_resolved_by_its_city():
    (mention,) = [m for m in find_places("南京市鼓楼区和平安街道") if m.form == "鼓楼区"]
    assert [p.province for p in mention.places] == ["江苏省"]
    assert province_of("鼓楼区") == ""  # alone it names districts of several provinces


def test_province_city_and_parents_of_any_level():
    assert province_of("越城") == province_of("越城区") == "浙江省"
    assert city_of("越城") == "绍兴市" and city_of("绍兴") == "绍兴市" and city_of("浙江") == ""
    assert parent_names("越城") == ["绍兴", "浙江"]
    assert parent_names("长垣") == ["新乡", "河南"]
    assert parent_names("新乡") == ["河南"] and parent_names("河南") == []
    assert parent_names("海淀") == ["北京"]  # a municipality's district
    assert province_of("朝阳") == "辽宁省"  # the prefecture owns the short form
    assert province_of("没有这个地方") == "" and parent_names("没有这个地方") == []


def test_old_tables_stay_importable_and_are_derived_from_the_gazetteer():
    from rag.metadata import CITY_TO_PROVINCE, DISTRICT_CITY, PROVINCE_CITIES

    assert CITY_TO_PROVINCE["新乡"] == "河南省" and "新乡" in PROVINCE_CITIES["河南省"]
    assert DISTRICT_CITY["越城"] == "绍兴" and DISTRICT_CITY["长垣"] == "新乡"
    assert PROVINCE_CITIES["北京市"] == [] and len(CITY_TO_PROVINCE) > 300


@pytest.mark.parametrize(
    "title, text, region, regions",
    [
        ("湖北省人民政府办公厅关于印发支持中小微企业共渡难关政策措施的通知", "", "湖北省", ["湖北省"]),
        ("湖北黄冈：新冠肺炎重症患者一人一诊疗方案", "新华社武汉2月11日电", "黄冈市", ["湖北省", "黄冈市"]),
        ("绍兴市越城区关于推进医疗器械产业高质量发展的实施意见", "", "绍兴市越城区",
         ["浙江省", "绍兴市", "绍兴市越城区"]),
        ("长垣市关于支持卫材企业扩产的通知", "", "新乡市长垣市", ["河南省", "新乡市", "新乡市长垣市"]),  # as written
        ("通州区人力资源和社会保障局关于养老待遇核准工作的通知", "北京市人力资源和社会保障局要求", "北京市通州区",
         ["北京市", "北京市通州区"]),  # the text says which 通州区
        # A national notice: the addressees and the provinces named in passing are not its region.
        ("关于阶段性减免企业社会保险费的通知", "各省、自治区、直辖市人民政府，新疆生产建设兵团：为贯彻落实……"
         "浙江省、广东省的企业……", "", []),
        ("关于开通环保服务热线的通告", "为落实区委区政府部署，泰州市海陵区生态环境局开通热线，海陵区企业可拨打",
         "泰州市海陵区", ["江苏省", "泰州市", "泰州市海陵区"]),
    ],
)
def test_region_from_title_else_text(title, text, region, regions):
    assert _extract_region(title, text) == (region, regions)


def test_a_city_heading_its_zone_in_one_word_is_found():
    """jieba keeps some zones as one word (苏州工业园区); the city is still named, other words are not places."""
    from rag.places import places_in

    assert places_in("苏州工业园区的产值目标") == ["苏州"]
    assert places_in("长治久安") == [] and places_in("阿里巴巴园区") == []
