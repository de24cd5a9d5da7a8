"""What was said, embedded by the text model: an audio or video file whose transcript the store holds
(Whisper `+transcript`) gets a row in every indexed text model, its vector that of the transcript cut
and pooled as a text file's would be. The file then answers searches by meaning and sits among the
text files' neighbors; its own modality's model (Whisper) keeps its sound vector apart."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .catalog import FileRow
from .models.base import Adapter, Decoded, DecodeError
from .results import FailedFile, FileResult
from .stages import embed_decoded

BATCH = 64  # transcripts per commit


def transcript_batches(
    adapter: Adapter, due: list[tuple[FileRow, str]]
) -> Iterator[list[FileResult[FileRow]]]:
    """Per-file results for the transcripts, one commit's worth at a time."""
    for start in range(0, len(due), BATCH):
        pending: list[tuple[FileRow, Decoded]] = []
        failed: list[FileResult[FileRow]] = []
        for f, text in due[start : start + BATCH]:
            try:
                decoded = adapter.decode_text(text)
            except DecodeError as exc:
                failed.append(FailedFile(f, f"transcript: {exc}"))
                continue
            # the file's own facts and stored transcript stay as they are: a commit rewrites neither
            decoded.text, decoded.meta = None, {}
            pending.append((f, decoded))
        yield (embed_decoded(adapter, pending) if pending else []) + failed


def embed_transcripts(
    adapter: Adapter,
    due: list[tuple[FileRow, str]],
    commit: Callable[[list[FileResult[FileRow]]], tuple[int, int]],
    stopped: Callable[[], bool],
) -> tuple[int, int]:
    """Embed and commit the transcripts that are due; (embedded, failed)."""
    done = failed = 0
    for results in transcript_batches(adapter, due):
        ok, bad = commit(results)
        done, failed = done + ok, failed + bad
        if stopped():
            break
    return done, failed
