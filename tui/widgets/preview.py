"""The preview pane: what the current file is — the head of a text (highlighted when it is code), a picture,
an audio file's loudness and transcript, a video's frame and facts — plus how each model saw it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from vexplore.engine.loader import file_path

from .. import graphics
from ..literal import duration, human_size, literal
from ..previews import Preview, load_preview, stored_preview
from ..reader import Details, Reader

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from textual_image.widget._base import Image as PictureWidget


def facts_line(modality: str, size: int, facts: dict) -> Text:
    """One line of what matters for this kind of file, from the store's meta or the file itself."""
    bits = [modality, human_size(size)]
    if modality == "text":
        if facts.get("lines") is not None:
            bits.append(f"{facts['lines']} line{'' if facts['lines'] == 1 else 's'}")
        if facts.get("windows", 1) > 1:
            bits.append(f"{facts['windows']} windows")
        if facts.get("truncated"):
            bits.append("cut to fit")
    elif modality == "image":
        if facts.get("width"):
            bits.append(f"{facts['width']}×{facts['height']}")
        bits += [str(facts[k]) for k in ("format", "mode") if facts.get(k)]
    elif modality == "audio":
        bits.append(duration(facts.get("duration")))
        if facts.get("sample_rate"):
            bits.append(f"{facts['sample_rate']} Hz")
        if facts.get("channels"):
            bits.append("mono" if facts["channels"] == 1 else f"{facts['channels']} channels")
    elif modality == "vector" and facts.get("label") is not None:
        bits.append(f"label {facts['label']}")
    elif modality == "video":
        bits.append(duration(facts.get("duration")))
        if facts.get("width"):
            bits.append(f"{facts['width']}×{facts['height']}")
        if facts.get("fps"):
            bits.append(f"{facts['fps']:g} fps")
        if facts.get("codec"):
            bits.append(str(facts["codec"]))
        if "has_audio" in facts:
            bits.append("with sound" if facts["has_audio"] else "silent")
    return literal(" · ".join(bits), style="bold")


def models_line(details: Details | None) -> Text:
    """How each model saw the file: ● embedded, ✗ failed (with why), or nothing yet."""
    if details is None or not details.embeddings:
        return Text("○ not embedded yet", style="bright_black")
    out = Text()
    for name, has_vector, error, _labels in details.embeddings:
        if out:
            out.append("  ")
        if has_vector:
            out.append_text(Text.assemble(("● ", "green"), literal(name)))
        else:
            out.append_text(
                Text.assemble(("✗ ", "red"), literal(name), ": ", literal(error or "failed", "red"))
            )
    return out


def tags_line(details: Details | None) -> Text | None:
    """Classifier tags (top classes of the model's last layer) when a model produced them."""
    if details is None:
        return None
    parts = [(name, labels) for name, _, _, labels in details.embeddings if labels]
    if not parts:
        return None
    out = Text("tags ", style="bold")
    for name, labels in parts:
        out.append_text(literal(", ".join(f"{label} {p:.0%}" for label, p in labels[:5])))
        out.append_text(literal(f" ({name})  ", style="bright_black"))
    return out


class PreviewPane(VerticalScroll, can_focus=True):
    """A facts line, how each model saw the file, tags, then the body for the file's kind. The parts
    are made once and updated in place (hidden when empty): moving through files never rebuilds the pane."""

    shown_path: str | None = None  # the file whose preview is on screen (tests and benchmarks wait on it)
    wanted: str | None = None  # the file whose preview is asked for
    _picture: PictureWidget | None = None  # made when the first picture shows

    def compose(self):
        yield Static(classes="preview-facts")
        yield Static(classes="preview-models")
        yield Static(classes="preview-tags")
        yield Static(classes="preview-problem")
        yield Static(classes="preview-note")
        yield Static(Text("loudness", style="bright_black"), classes="preview-caption preview-wave-caption")
        yield Sparkline([], classes="preview-wave")
        yield Static(
            Text("transcript", style="bright_black"), classes="preview-caption preview-transcript-caption"
        )
        yield Static(classes="preview-transcript")
        yield Static(classes="preview-text")

    def show_loading(self, path: str) -> None:
        self.border_title = literal(path)
        self.wanted = path

    @work(group="preview", exclusive=True)
    async def load(self, reader: Reader, path: str) -> None:
        """path's details and preview, read off the UI thread; shown unless another file was asked for."""
        await self.fill(reader, path)

    async def fill(self, reader: Reader, path: str) -> None:
        """load's work, awaited in place (two panes side by side fill one after the other: the reader
        answers only the newest request for details). Shown only if path is still `wanted`."""
        details = await reader.details(path)
        if details is None or path != self.wanted:
            return
        where = file_path(reader.root, details.file)
        file = details.file
        if file.modality == "vector":
            preview = stored_preview(file.meta, details.text)
        else:
            preview = await asyncio.to_thread(load_preview, where, file.modality, file.meta, details.thumb)
        if path == self.wanted:
            await self.show(path, details, preview)

    def _set(self, css: str, content=None) -> None:
        widget = self.query_one(css, Static)
        widget.display = content is not None
        if content is not None:
            widget.update(content)

    async def show(self, path: str, details: Details | None, preview: Preview) -> None:
        if not self.query(".preview-facts"):
            return  # the pane is being taken down (the app quits while a preview was loading)
        self.border_title = literal(path)
        size = details.file.size if details else 0
        self._set(".preview-facts", facts_line(preview.kind, size, preview.facts))
        self._set(".preview-models", models_line(details))
        self._set(".preview-tags", tags_line(details))
        self._set(".preview-problem", literal(preview.problem, style="yellow") if preview.problem else None)
        await self._show_picture(preview.picture)
        wave = self.query_one(".preview-wave", Sparkline)
        wave.display = self.query_one(".preview-wave-caption").display = bool(preview.waveform)
        wave.data = preview.waveform or []
        transcript = details.text if details and preview.kind in ("audio", "video") else None
        self.query_one(".preview-transcript-caption").display = bool(transcript)
        self._set(".preview-transcript", literal(transcript, keep_newlines=True) if transcript else None)
        self._set(".preview-text", self._body(preview) if preview.text is not None else None)
        self.scroll_home(animate=False)
        self.shown_path = path

    async def _show_picture(self, picture: PILImage | None) -> None:
        """One picture widget, made the first time a picture shows and then given each new image."""
        note = None
        shown = self._picture
        if picture is None:
            if shown is not None:
                shown.display = False
        elif shown is not None:
            shown.image = picture
            shown.display = True
        else:
            widget = self._picture = graphics.image_widget(picture, classes="preview-picture")
            if widget is None:
                note = Text(graphics.unavailable_reason(), style="bright_black")
            else:
                await self.mount(widget, after=self.query_one(".preview-note"))
        self._set(".preview-note", note)

    @staticmethod
    def _body(preview: Preview):
        text = literal(preview.text or "", keep_newlines=True)
        if preview.lexer:
            from rich.syntax import Syntax  # pygments: only once a code file is shown

            return Syntax(
                text.plain,
                preview.lexer,
                theme="ansi_dark",
                line_numbers=True,
                word_wrap=False,
                background_color="default",
            )
        return text
