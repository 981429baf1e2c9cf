"""Loaders: encodings, formats, titles and metadata, and files that cannot be read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.errors import LoadError
from rag.loaders import document_from_text, find_files, load_document

from .conftest import CORPUS, ROOT

POLICY = (
    "关于印发《某市医疗器械产业发展行动方案》的通知\n"
    "发布时间：2024-03-15\n"
    "一、发展目标\n"
    "到2027年，全市医疗器械产业规模超过300亿元。\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_text_in_each_common_encoding_decodes_to_the_same_document(tmp_path, encoding):
    path = tmp_path / f"plan-{encoding}.txt"
    path.write_bytes(POLICY.encode(encoding))
    doc = load_document(path)
    assert doc.source_text.replace("\ufeff", "") == POLICY
    assert doc.title == "某市医疗器械产业发展行动方案"
    assert doc.date == "2024-03-15"


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes(POLICY.encode("utf-16"))
    assert load_document(path).title == "某市医疗器械产业发展行动方案"


def test_front_matter_gives_title_and_date_and_is_not_body():
    doc = load_document(CORPUS / "000_58192326359d465c.txt")
    assert doc.title == "河南省医疗仪器设备产业园区布局建设方案"
    assert doc.date == "2025-04-10"
    assert doc.source_text[: doc.body_start].startswith("---")
    assert "categories" not in doc.source_text[doc.body_start :]
    assert doc.metadata["issuers"] == ["河南省人民政府办公厅"]
    assert doc.metadata["link"].startswith("http://")


@pytest.mark.parametrize(
    "name,title_part,region,date",
    [
        ("001_663a42aec9d657f6.txt", "郑州高新医疗健康产业高质量发展大会", "郑州市", ""),
        ("002_f4de1304f989fb29.txt", "绍兴市越城区关于推进医疗器械产业高质量发展的实施意见", "绍兴市越城区", ""),
        ("003_221e538f8908b282.txt", "深圳市培育发展高端医疗器械产业集群行动计划（2022-2025年）", "深圳市", "2022-06-06"),
        ("004_265051e95facd373.txt", "晋中开发区", "晋中市", ""),
    ],
)
def test_corpus_titles_regions_dates(name, title_part, region, date):
    doc = load_document(CORPUS / name)
    assert title_part in doc.title
    assert doc.region == region
    assert doc.date == date


def test_docx_headings_become_sections(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("某区支持医疗器械企业的若干措施", level=1)
    d.add_paragraph("一、支持研发创新")
    d.add_paragraph("对获得第三类医疗器械注册证的企业，给予最高500万元奖励。")
    path = tmp_path / "measures.docx"
    d.save(path)
    doc = load_document(path)
    assert doc.title == "某区支持医疗器械企业的若干措施"
    assert "给予最高500万元奖励" in doc.source_text


def test_html_drops_scripts_and_keeps_text(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>园区通知</title><script>alert(1)</script></head>"
        "<body><h1>园区通知</h1><p>园区规划面积约118亩。</p></body></html>",
        encoding="gbk",
    )
    doc = load_document(path)
    assert "alert" not in doc.source_text
    assert "园区规划面积约118亩。" in doc.source_text
    assert doc.title == "园区通知"


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a text layer (ASCII, Helvetica), written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_text_layer_is_read(tmp_path):
    path = tmp_path / "plan.pdf"
    path.write_bytes(_minimal_pdf("Park scale target 500 by 2030."))
    doc = load_document(path)
    assert "Park scale target 500 by 2030." in doc.source_text


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.txt", b"", "空"),
        ("blank.md", b"  \n\n \xe3\x80\x80 \n", "没有可用的文字"),
        ("binary.txt", b"\x00\x01\x02\x03PK\x00\x00" * 50, "二进制"),
        ("broken.docx", b"this is not a zip file", "docx"),
        ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("broken.xlsx", b"whatever", "xlsx"),
        ("broken.doc", b"not a word file at all " * 20, ".doc"),
        ("slides.pptx", b"whatever", "不支持"),
        ("latin.txt", bytes(range(0x80, 0xFF)) * 20, ""),
    ],
)
def test_unreadable_files_raise_load_error_with_a_chinese_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_document(path)
    message = str(err.value)
    assert reason in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert err.value.log_message.isascii()


def test_missing_file(tmp_path):
    with pytest.raises(LoadError, match="无法读取"):
        load_document(tmp_path / "nope.txt")


def test_full_width_and_no_break_spaces_are_text_not_binary(tmp_path):
    """Notices indented with U+3000 (and pages pasted with NBSP / en spaces) were rejected as 二进制或乱码."""
    notice = (
        "关于做好疫情防控期间企业用工保障工作的通知\u3000\u3000各区人力资源和社会保障局：\n"
        + "\u3000\u3000\u3000\u3000一、\u00a0\u00a0\u00a0\u00a0加强用工监测。\u2002\u2002\u2002\u2002\n" * 30
        + "\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000市人力资源和社会保障局\r\n"
    )
    path = tmp_path / "notice.txt"
    path.write_text(notice, encoding="utf-8")
    doc = load_document(path)
    assert "加强用工监测" in doc.source_text
    assert doc.title.startswith("关于做好疫情防控期间企业用工保障工作的通知")


def test_control_character_garbage_is_still_rejected(tmp_path):
    path = tmp_path / "garbled.txt"
    path.write_bytes(("园区" + "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13" * 40).encode("utf-8"))
    with pytest.raises(LoadError, match="二进制或乱码"):
        load_document(path)


def test_a_folder_under_a_hidden_parent_is_read_but_hidden_entries_below_it_are_not(tmp_path):
    docs = tmp_path / ".cache" / "policyqa" / "docs"
    (docs / ".drafts").mkdir(parents=True)
    (docs / "sub").mkdir()
    for rel in ("a.txt", "sub/b.md", ".hidden.txt", ".drafts/c.txt"):
        (docs / rel).write_text("园区通知\n园区规划面积约300亩。", encoding="utf-8")
    assert [p.relative_to(docs).as_posix() for p in find_files([docs])] == ["a.txt", "sub/b.md"]
    hidden = docs / ".hidden.txt"
    assert find_files([hidden]) == [hidden]  # a file named explicitly is what the user asked for


def _rag(*args):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_ingest_that_finds_nothing_readable_exits_2_in_chinese_and_keeps_the_index(tmp_path, settings_factory):
    from rag.ingest import ingest
    from rag.store import current_generation, load_index

    docs, empty, bad, index = tmp_path / "docs", tmp_path / "empty", tmp_path / "bad", tmp_path / "idx"
    for d in (docs, empty, bad):
        d.mkdir()
    (docs / "note.txt").write_text("园区通知\n园区规划面积约300亩，重点发展体外诊断产业。", encoding="utf-8")
    (docs / "other.txt").write_text("乙园区简介\n乙园区重点发展高值医用耗材产业，规划面积约150亩。", encoding="utf-8")
    (bad / "sheet.xlsx").write_bytes(b"whatever")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    assert _rag("ingest", str(docs), "--index", str(index)).returncode == 0
    generation = current_generation(index)

    for args, named in (([str(empty)], "空"), ([str(bad)], "broken.pdf"), ([str(empty), "--rebuild"], "空")):
        proc = _rag("ingest", *args, "--index", str(index))
        assert proc.returncode == 2, proc.stdout
        assert "没有找到可读取的文档" in proc.stderr and named in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert current_generation(index) == generation
    assert set(load_index(index).docs) == {"note.txt", "other.txt"}

    # Removing and pruning are real work even when nothing is found to add.
    settings = settings_factory(index)
    assert ingest([], settings, remove=["other.txt"], require_documents=True).removed == ["other.txt"]
    (docs / "note.txt").unlink()
    (docs / "other.txt").unlink()
    assert ingest([docs], settings, prune=True, require_documents=True).removed == ["note.txt"]


@pytest.mark.parametrize(
    "text,title",
    [
        # Pages whose line breaks were lost: the headline runs on into a byline, a dateline, the addressee or the
        # first sentence, with or without the spaces that are left of the line breaks.
        ("某银行推出专项信贷产品支持小微企业复工复产 某某网讯（记者 张三）记者26日从某银行获悉，该行推出专项信贷产品，"
         "单户额度最高500万元。", "某银行推出专项信贷产品支持小微企业复工复产"),
        ("某银行推出专项信贷产品支持小微企业复工复产某某网讯（记者张三）记者26日从某银行获悉，该行推出专项信贷产品，"
         "单户额度最高500万元。", "某银行推出专项信贷产品支持小微企业复工复产"),
        ("某区召开疫情防控工作推进会2020年2月18日，某区召开疫情防控工作推进会，部署下一阶段重点工作。会议要求，各街道要"
         "压实责任，做好返岗人员排查。", "某区召开疫情防控工作推进会"),
        ("某省财政厅 某省税务局 关于延长疫情防控期间纳税申报期限的通知 某财税〔2020〕3号 各市财政局、税务局： "
         "为做好疫情防控工作，现将有关事项通知如下：一、延长申报期限。", "某省财政厅某省税务局关于延长疫情防控期间纳税申报期限的通知"),
        ("关于做好疫情防控期间企业用工保障工作的通知各区人力资源和社会保障局：为做好疫情防控期间企业用工保障工作，"
         "现就有关事项通知如下：一、加强用工监测。", "关于做好疫情防控期间企业用工保障工作的通知"),
    ],
    ids=["byline", "byline-no-spaces", "dateline", "issuers-and-document-number", "addressee"],
)
def test_the_title_of_a_flattened_page_is_its_headline(text, title):
    assert document_from_text(text, source="p.txt", doc_id="p.txt").title == title
