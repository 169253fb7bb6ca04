"""Loading and chunking the corpus: every format, offsets that point at the text, errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from tests.discovery.conftest import CORPUS, ROOT

from aios.discovery import chunk, load_corpus
from aios.discovery.corpus import load_document
from aios.errors import ConfigError, NotFoundError


def test_example_corpus_mixes_every_format_and_has_thirty_documents() -> None:
    docs = load_corpus(CORPUS)
    kinds = {d.kind for d in docs}
    assert kinds == {"text", "markdown", "html", "pdf"}
    assert len(docs) >= 30


def test_passage_offsets_point_at_their_text_in_every_document() -> None:
    for doc in load_corpus(CORPUS):
        passages = chunk(doc, 300)
        assert passages, doc.id
        for p in passages:
            assert doc.text[p.start:p.end] == p.text
            assert p.id.startswith(doc.hash[:12])
        assert len({p.id for p in passages}) == len(passages)


def test_text_and_markdown_offsets_are_file_offsets() -> None:
    doc = load_document(CORPUS / "corvid_systems.md", CORPUS)
    assert doc.text == (CORPUS / "corvid_systems.md").read_text(encoding="utf-8")
    assert doc.title == "Corvid Systems"


def test_html_keeps_visible_text_and_drops_scripts_and_styles() -> None:
    doc = load_document(CORPUS / "heronsgate_labs.html", CORPUS)
    assert doc.title == "Heronsgate Labs"
    assert "founded by Ilse Varga in 1994" in doc.text
    assert "tracking" not in doc.text and "font-family" not in doc.text


def test_pdf_text_is_extracted_with_paragraphs(tmp_path: Path) -> None:
    doc = load_document(CORPUS / "annual_report_2012.pdf", CORPUS)
    assert doc.kind == "pdf"
    assert "Tern Robotics was founded by Corvid Systems in 2012" in doc.text
    assert doc.text.startswith("Corvid Systems Annual Report 2012\n\n")


def test_committed_pdf_is_regenerated_byte_for_byte_by_its_script(tmp_path: Path) -> None:
    pytest.importorskip("fpdf")
    spec = importlib.util.spec_from_file_location(
        "make_pdf", ROOT / "examples" / "discovery" / "make_pdf.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["make_pdf", str(tmp_path)]) == 0
    rebuilt = tmp_path / "annual_report_2012.pdf"
    assert rebuilt.read_bytes() == (CORPUS / "annual_report_2012.pdf").read_bytes()


def test_a_missing_corpus_path_is_a_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")


def test_an_empty_corpus_says_which_files_it_reads(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"not read")
    with pytest.raises(ConfigError, match=r"empty.*\.md"):
        load_corpus(tmp_path)


def test_a_broken_pdf_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(ConfigError, match=r"broken\.pdf"):
        load_corpus(tmp_path)


def test_long_documents_are_cut_into_bounded_passages(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    doc = load_corpus(tmp_path)[0]
    passages = chunk(doc, 120)
    assert len(passages) > 5
    assert all(len(p.text) <= 150 for p in passages)
    assert " ".join(p.text for p in passages) == text
