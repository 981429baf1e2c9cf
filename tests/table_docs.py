"""A made-up plan with its key figures in a table: the table tests write it as .docx and .xlsx and read the
committed .pdf/.doc conversions of it (tests/fixtures/make_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

TITLE = "某市生物医药产业发展规划（2024-2027年）"
HEADER = ("区县", "2025年目标", "2027年目标", "重点方向")
ROWS = [
    ("东湖区", "120亿元", "180亿元", "创新药研发"),
    ("西山区", "85亿元", "130亿元", "医疗器械制造"),
    ("南岭县", "40亿元", "66亿元", "中药材种植加工"),
    ("北塘区", "72亿元", "98亿元", "体外诊断试剂"),
    ("青石县", "18亿元", "35亿元", "康复辅具"),
    ("临河区", "55亿元", "90亿元", "生物制品"),
    ("白沙县", "26亿元", "41亿元", "医用耗材"),
    ("红桥区", "63亿元", "101亿元", "智慧医疗"),
    ("松台县", "12亿元", "27亿元", "保健食品"),
    ("云门区", "47亿元", "75亿元", "医药流通"),
    ("金坪县", "9亿元", "16亿元", "原料药"),
    ("玉泉区", "38亿元", "59亿元", "高端影像设备"),
]
INTRO = "到2027年，全市生物医药产业规模突破一千亿元，形成各具特色的区县产业布局。各区县产业规模目标见下表。"
MEASURES = "加强组织领导，建立市区两级工作推进机制，按年度对各区县目标完成情况进行考核通报。"


def row_line(name: str) -> str:
    """The pipe row of a district as the loaders write it."""
    row = next(r for r in ROWS if r[0] == name)
    return "| " + " | ".join(row) + " |"


def write_plan_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(TITLE, level=1)
    d.add_paragraph("一、发展目标")
    d.add_paragraph(INTRO)
    table = d.add_table(rows=len(ROWS) + 1, cols=len(HEADER))
    table.style = "Table Grid"  # ruled, as official tables are: PDF readers find tables by their lines
    for i, row in enumerate([HEADER, *ROWS]):
        for j, cell in enumerate(row):
            table.cell(i, j).text = cell
    d.add_paragraph("二、保障措施")
    d.add_paragraph(MEASURES)
    d.save(str(path))
    return path


def write_plan_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "区县目标"
    ws.append(list(HEADER))
    for row in ROWS:
        ws.append(list(row))
    wb.save(str(path))
    return path
