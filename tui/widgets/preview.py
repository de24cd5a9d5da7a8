"""The preview pane: what the current file is — the head of a text (highlighted when it is code), a picture,
an audio file's loudness and transcript, a video's frame and facts — plus how each model saw it."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from .. import graphics
from ..literal import duration, human_size, literal
from ..previews import Preview
from ..reader import Details


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
            out.append_text(Text.assemble(("✗ ", "red"), literal(name), ": ", literal(error or "failed", "red")))
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
    """Rebuilt for each file: a facts line, the body for the file's kind, then tags."""

    shown_path: str | None = None  # the file whose preview is mounted (tests and benchmarks wait on it)

    def show_loading(self, path: str) -> None:
        self.border_title = literal(path)

    async def show(self, path: str, details: Details | None, preview: Preview) -> None:
        self.border_title = literal(path)
        size = details.file.size if details else 0
        widgets = [Static(facts_line(preview.kind, size, preview.facts), classes="preview-facts"),
                   Static(models_line(details), classes="preview-models")]
        tags = tags_line(details)
        if tags is not None:
            widgets.append(Static(tags, classes="preview-tags"))
        if preview.problem:
            widgets.append(Static(literal(preview.problem, style="yellow"), classes="preview-problem"))
        if preview.picture is not None:
            picture = graphics.image_widget(preview.picture, classes="preview-picture")
            widgets.append(picture if picture is not None else
                           Static(Text(graphics.unavailable_reason(), style="bright_black")))
        if preview.waveform:
            widgets.append(Static(Text("loudness", style="bright_black"), classes="preview-caption"))
            widgets.append(Sparkline(preview.waveform, classes="preview-wave"))
        transcript = details.text if details else None
        if preview.kind in ("audio", "video") and transcript:
            widgets.append(Static(Text("transcript", style="bright_black"), classes="preview-caption"))
            widgets.append(Static(literal(transcript, keep_newlines=True), classes="preview-text"))
        if preview.text is not None:
            widgets.append(Static(self._body(preview), classes="preview-text"))
        await self.remove_children()
        await self.mount_all(widgets)
        self.scroll_home(animate=False)
        self.shown_path = path

    @staticmethod
    def _body(preview: Preview) -> Text | Syntax:
        text = literal(preview.text or "", keep_newlines=True)
        if preview.lexer:
            return Syntax(text.plain, preview.lexer, theme="ansi_dark", line_numbers=True, word_wrap=False,
                          background_color="default")
        return text
