"""A local corpus: loading .txt, .md, .html and .pdf files and cutting them into passages.

Every passage keeps the character offsets of its text inside its document's extracted text,
so a claim can cite exactly where it was read. For .txt and .md files the extracted text is
the file's text unchanged (offsets are file offsets); for .html it is the visible text
(html.parser from the standard library; scripts and styles dropped) and for .pdf the text
`pypdf` extracts, with line breaks inside paragraphs joined.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from aios.errors import ConfigError, NotFoundError
from aios.registry import Registry

__all__ = ["LOADERS", "Document", "Passage", "chunk", "content_hash", "load_corpus",
           "load_document", "loader", "sentences"]


@dataclass(frozen=True)
class Document:
    """One document of a corpus.

    Attributes:
        id: the path relative to the corpus root (`posix` separators): stable and readable.
        title: the title (HTML `<title>`/`<h1>`, Markdown `# heading`, else the first line).
        text: the extracted plain text that passage offsets refer to.
        hash: SHA-256 of the file's bytes: a changed file is a new document.
        kind: the loader that read it (`text`, `markdown`, `html`, `pdf`).
    """

    id: str
    title: str
    text: str
    hash: str
    kind: str


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences of one document.

    Attributes:
        id: `<document hash prefix>-<passage size>:<index>`: the same content cut the same
            way gets the same id anywhere.
        doc_id: the document's id; doc_hash: its content hash; title: its title.
        index: position of the passage in its document.
        start, end: character offsets of `text` in the document's `text`.
    """

    id: str
    doc_id: str
    doc_hash: str
    title: str
    index: int
    start: int
    end: int
    text: str


Loader = Callable[[Path], tuple[str, str]]
"""Reads a file and returns `(title, text)`."""

#: `(kind, loader)` by file suffix, filled by `@loader`.
LOADERS: Registry[tuple[str, Loader]] = Registry("file suffix", known="the corpus reads")


def loader(kind: str, *suffixes: str) -> Callable[[Loader], Loader]:
    """Register a function reading files with `suffixes` as documents of `kind`."""

    def mark(fn: Loader) -> Loader:
        for suffix in suffixes:
            LOADERS.add(suffix, (kind, fn))
        return fn

    return mark


def content_hash(data: bytes) -> str:
    """The SHA-256 hex digest identifying a document's content."""
    return hashlib.sha256(data).hexdigest()


def _first_line_title(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return path.stem


@loader("text", ".txt")
def _load_text(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return _first_line_title(text, path), text


@loader("markdown", ".md", ".markdown")
def _load_markdown(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    heading = re.search(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)
    return (heading.group(1).strip() if heading else _first_line_title(text, path)), text


class _VisibleText(HTMLParser):
    """Collects the visible text of an HTML page, one paragraph per block element."""

    _BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "tr",
                         "section", "article", "header", "footer", "blockquote", "title"})
    _HIDDEN = frozenset({"script", "style", "head", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self._hidden = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag in self._HIDDEN and tag != "head":
            self._hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and tag != "head" and self._hidden:
            self._hidden -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n")
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
            return
        if self._hidden or "head" in self._in:
            return
        if "h1" in self._in:
            self.h1 += data
        self.parts.append(data)


@loader("html", ".html", ".htm")
def _load_html(path: Path) -> tuple[str, str]:
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    paragraphs = (" ".join(p.split()) for p in "".join(parser.parts).split("\n\n"))
    text = "\n\n".join(p for p in paragraphs if p)
    title = " ".join((parser.title or parser.h1).split()) or _first_line_title(text, path)
    return title, text


@loader("pdf", ".pdf")
def _load_pdf(path: Path) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:
        raise ConfigError(f"reading {path} needs pypdf: pip install 'aios[discovery]'") \
            from exc
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable PDF ({exc}); remove it from the corpus or "
                          "re-export it") from exc
    text = "\n\n".join(_pdf_paragraphs(page) for page in pages if page.strip())
    title = ""
    if reader.metadata is not None and reader.metadata.title:
        title = str(reader.metadata.title)
    return title or _first_line_title(text, path), text


def _pdf_paragraphs(page: str) -> str:
    # pypdf breaks lines at the page margin: join a line to the next one when it runs to the
    # margin, and end the paragraph after a short line (a title, the last line of a paragraph).
    lines = [" ".join(line.split()) for line in page.splitlines()]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        out.append(line)
        out.append("\n\n" if len(line) < 0.6 * width else " ")
    return "".join(out).strip()


def load_document(path: Path, root: Path) -> Document:
    """Read one file as a `Document` whose id is its path relative to `root`.

    Raises:
        ConfigError: the suffix has no loader, or the file cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        raise ConfigError(f"{path}: {LOADERS.unknown(suffix)}")
    kind, read = LOADERS[suffix]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    title, text = read(path)
    rel = path.name if path == root else path.relative_to(root).as_posix()
    return Document(id=rel, title=title, text=text, hash=content_hash(data), kind=kind)


def corpus_files(root: Path) -> list[Path]:
    """The readable files of a corpus (a directory, searched recursively, or one file).

    Raises:
        NotFoundError: `root` does not exist.
        ConfigError: it holds no file with a known suffix.
    """
    if not root.exists():
        raise NotFoundError(f"corpus path {str(root)!r} does not exist; pass an existing file "
                            "or directory as --source corpus:PATH")
    if root.is_file():
        files = [root] if root.suffix.lower() in LOADERS else []
    else:
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in LOADERS
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise ConfigError(f"corpus {str(root)!r} is empty: it has no "
                          f"{', '.join(LOADERS.names())} file; add documents or fix the path")
    return files


def load_corpus(root: Path) -> list[Document]:
    """Every document under `root`, in path order (see `corpus_files` for the errors)."""
    return [load_document(path, root) for path in corpus_files(root)]


_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")


def sentences(text: str, offset: int = 0) -> Iterator[tuple[int, int]]:
    """`(start, end)` spans of the sentences of `text` (shifted by `offset`), blanks skipped.

    A sentence ends at `.`, `!` or `?` (perhaps followed by a closing quote or bracket) before
    whitespace and a capital or digit, or at a blank line (so headings and list items are
    sentences of their own).
    """
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        yield from _trimmed(text, pos, match.start(), offset)
        pos = match.end()
    yield from _trimmed(text, pos, len(text), offset)


def _trimmed(text: str, start: int, end: int, offset: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start + offset, end + offset


def chunk(document: Document, max_chars: int = 400) -> list[Passage]:
    """Cut `document` into passages of whole sentences, each at most about `max_chars` long.

    Consecutive sentences are grouped until the next one would pass `max_chars`; a heading
    joins the passage of the text under it; a sentence longer than `max_chars` is a passage
    of its own.
    """
    passages: list[Passage] = []
    group: list[tuple[int, int]] = []
    for span in sentences(document.text):
        if group and span[1] - group[0][0] > max_chars:
            passages.append(_passage(document, len(passages), group, max_chars))
            group = []
        group.append(span)
    if group:
        passages.append(_passage(document, len(passages), group, max_chars))
    return passages


def _passage(document: Document, index: int, group: list[tuple[int, int]],
             max_chars: int) -> Passage:
    start, end = group[0][0], group[-1][1]
    return Passage(id=f"{document.hash[:12]}-{max_chars}:{index}", doc_id=document.id,
                   doc_hash=document.hash, title=document.title, index=index, start=start,
                   end=end, text=document.text[start:end])
