"""Broken, odd and hostile files for the tests: each kind is one small file (or link, or folder) written
by a function, with what vexplore must make of it.

Expectations: "embedded" (a vector), ("reason", words) (a per-file reason containing the words, for a
file the scan accepted), ("skipped", words) (the scan's reason), "ignored" (not cataloged, no reason),
"one of two" (two files that print the same: one embedded, the other skipped with a reason).
Image, audio and video kinds say "ok", "bad" or "either" (a vector or a reason): they only mean
something when a model for that modality is indexed; otherwise the file must just be cataloged."""

from __future__ import annotations

import io
import os
import struct
import unicodedata
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SENTENCE = "The harbour ferry leaves at dawn; gulls follow it past the lighthouse.\n"


@dataclass(frozen=True)
class Kind:
    name: str
    path: str  # as the catalog spells it (relative, printable)
    modality: str | None
    expect: object
    make: Callable[[Path], None]


def _write(rel: str | bytes, data: bytes) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        target = os.path.join(os.fsencode(root), os.fsencode(rel))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)

    return make


# ---- media bytes -----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, rows: int = 1) -> bytes:
    """An RGB PNG whose header claims width x height; only `rows` rows of pixel data follow."""
    raw = zlib.compress((b"\0" + b"\0" * 3 * width) * rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", raw)
        + _png_chunk(b"IEND", b"")
    )


def png_blank(width: int, height: int) -> bytes:
    """A real, complete RGB PNG of any size, compressed row by row (no huge buffer in memory)."""
    comp = zlib.compressobj(1)
    row = b"\0" + b"\x80" * 3 * width
    data = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _pillow(mode: str, fmt: str, size=(64, 48), **save) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65535, size[::-1], dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def _animated_gif() -> bytes:
    from PIL import Image

    frames = [Image.new("P", (32, 32), i * 40) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def wav_bytes(seconds: float = 1.0, sr: int = 16000, tone: bool = True) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767 if tone else np.zeros_like(t)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def wav_claiming(data_bytes: int, actual: int = 3200) -> bytes:
    """A WAV header whose data chunk claims data_bytes, followed by only `actual` bytes."""
    header = (
        b"RIFF"
        + struct.pack("<I", min(data_bytes + 36, 0xFFFFFFFF))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )
    return header + b"\x01\x00" * (actual // 2)


def mp4_bytes(frames: int = 10, audio: bool = False, video: bool = True) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        if video:
            vs = c.add_stream("mpeg4", rate=10)
            vs.width = vs.height = 32
            vs.pix_fmt = "yuv420p"
            for i in range(frames):
                frame = av.VideoFrame.from_ndarray(
                    np.full((32, 32, 3), (i * 20) % 256, np.uint8), format="rgb24"
                )
                for packet in vs.encode(frame):
                    c.mux(packet)
            for packet in vs.encode():
                c.mux(packet)
        if audio:
            aus = c.add_stream("aac", rate=16000)
            aus.layout = "mono"
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="flt", layout="mono")
            frame.sample_rate = 16000
            for packet in [*aus.encode(frame), *aus.encode()]:
                c.mux(packet)
    return buf.getvalue()


def mp4_without_streams(duration: int = 0, timescale: int = 1000) -> bytes:
    """An MP4 with a movie header and no tracks at all."""
    mvhd = (
        b"\0\0\0\0"
        + struct.pack(">IIII", 0, 0, timescale, duration)
        + struct.pack(">IH", 0x00010000, 0x0100)
        + b"\0" * 10
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + b"\0" * 24
        + struct.pack(">I", 1)
    )
    box = lambda kind, data: struct.pack(">I", len(data) + 8) + kind + data  # noqa: E731
    return box(b"ftyp", b"isom\0\0\0\0isommp41") + box(b"moov", box(b"mvhd", mvhd))


def with_absurd_duration(mp4: bytes) -> bytes:
    """The same movie, its movie, track and media headers now claiming 2**32-1 seconds."""
    out = bytearray(mp4)
    for box, offset, timescale in ((b"mvhd", 12, True), (b"mdhd", 12, True), (b"tkhd", 20, False)):
        at = out.index(box) + 4 + offset  # past the box type, version+flags and the fields before
        if timescale:
            out[at : at + 8] = struct.pack(">II", 1, 0xFFFFFFFF)
        else:
            out[at : at + 4] = struct.pack(">I", 0xFFFFFFFF)
    return bytes(out)


# ---- file-system oddities -------------------------------------------------------------------------


def _symlink(rel: str, target: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)

    return make


def _unreadable_file(root: Path) -> None:
    _write("perm/unreadable.txt", SENTENCE.encode())(root)
    os.chmod(root / "perm/unreadable.txt", 0)


def _unreadable_folder(root: Path) -> None:
    _write("locked/inside.txt", SENTENCE.encode())(root)
    os.chmod(root / "locked", 0)


def _fifo(root: Path) -> None:
    os.mkfifo(root / "pipe.txt")


def _sparse(root: Path) -> None:
    with open(root / "sparse-1g.txt", "wb") as fh:
        fh.write(b"a sparse file that claims a gigabyte of text\n")
        fh.truncate(1 << 30)


def _too_deep(root: Path) -> None:
    """A folder chain longer than PATH_MAX (4096 bytes), built relative to open folders."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(20):
            name = "d" * 250
            os.mkdir(name, dir_fd=fd)
            new = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        out = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, SENTENCE.encode())
        os.close(out)
    finally:
        os.close(fd)


def _pair(first: tuple[str | bytes, bytes], second: tuple[str | bytes, bytes]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        _write(*first)(root)
        _write(*second)(root)

    return make


def _text(i: int) -> bytes:
    return f"{SENTENCE}Note {i}: the tide tables for week {i} are pinned by the door.\n".encode()


NFC, NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")


def file_kind(name: str, rel: str, modality: str | None, expect, data: bytes | Callable[[], bytes]) -> Kind:
    """A kind that is one file at rel holding data (or what a function makes, when the test builds it)."""

    def make(root: Path) -> None:
        _write(rel, data() if callable(data) else data)(root)

    return Kind(name, rel, modality, expect, make)


def _random(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


TEXT_KINDS = [
    file_kind("UTF-16 with BOM", "enc/utf16-bom.txt", "text", "embedded", SENTENCE.encode("utf-16")),
    file_kind("UTF-32 with BOM", "enc/utf32-bom.txt", "text", "embedded", SENTENCE.encode("utf-32")),
    file_kind("UTF-8 with BOM", "enc/utf8-bom.txt", "text", "embedded", SENTENCE.encode("utf-8-sig")),
    file_kind(
        "UTF-16 without BOM", "enc/utf16-nobom.txt", "text", ("reason", "NUL"), SENTENCE.encode("utf-16-le")
    ),
    file_kind(
        "invalid UTF-8",
        "enc/invalid-utf8.txt",
        "text",
        ("reason", "not UTF-8"),
        bytes(range(0x80, 0x100)) * 20,
    ),
    file_kind(
        "Latin-1 in a few places",
        "enc/latin1.txt",
        "text",
        "embedded",
        (SENTENCE * 5).encode() + "café crème".encode("latin-1"),
    ),
    file_kind("binary with .txt", "bin/random.txt", "text", ("reason", "NUL"), _random(1, 4096)),
    file_kind(
        "NUL bytes after the first 8 KB",
        "bin/late-nul.txt",
        "text",
        "embedded",
        (SENTENCE * 150).encode() + b"\0" * 64 + SENTENCE.encode(),
    ),
    Kind("1 GB sparse file", "sparse-1g.txt", "text", ("reason", "NUL"), _sparse),
    file_kind("0-byte text", "empty/zero.txt", "text", ("reason", "empty"), b""),
    file_kind("whitespace only", "empty/blank.md", "text", ("reason", "empty"), b" \n\t\r\n  "),
    file_kind("a BOM and nothing else", "empty/bom-only.txt", "text", ("reason", "empty"), b"\xef\xbb\xbf"),
    file_kind(
        "HTML with only a script",
        "empty/script.html",
        "text",
        ("reason", "empty"),
        b"<html><script>alert(1)</script><style>p{}</style></html>",
    ),
    file_kind(
        "100 KB single line", "long/one-line.txt", "text", "embedded", ("lighthouse keeper " * 6000).encode()
    ),
    file_kind("broken PDF", "docs/broken.pdf", "text", ("reason", "PDF"), b"%PDF-1.4\n1 0 obj <<"),
    file_kind("0-byte PDF", "docs/zero.pdf", "text", ("reason", "PDF"), b""),
    file_kind("notebook that is not JSON", "docs/broken.ipynb", "text", "embedded", b'{"cells": [{"src'),
    file_kind(
        "escape sequences and markup inside",
        "docs/escapes.txt",
        "text",
        "embedded",
        b"\x1b[2J\x1b[31m[bold red]alarm[/bold red] \x07\x1b]0;title\x07 \xe2\x80\xae" + SENTENCE.encode(),
    ),
    Kind("named pipe with .txt", "pipe.txt", None, "ignored", _fifo),
]

NAMES = [
    ("newline in the name", "names/new\nline.txt"),
    ("ANSI escape in the name", "names/\x1b[31mred\x1b[0m.txt"),
    ("Rich markup in the name", "names/[bold red]loud[/bold red].txt"),
    ("Rich link markup in the name", "names/[link=https:evil.example]click[/link].txt"),
    ("255-byte name", "names/" + "n" * 251 + ".txt"),
    ("bidi override in the name", "names/\u202eevil.exe.txt"),
    ("tab and carriage return in the name", "names/tab\tcr\r.txt"),
    ("name like a CLI option", "names/--help.txt"),
    ("spaces around the name", "names/ spaced .txt"),
    ("format strings in the name", "names/%s%n{0}$(id).txt"),
    ("emoji in the name", "names/\U0001f600.txt"),
]
NAME_KINDS = [file_kind(name, rel, "text", "embedded", _text(i)) for i, (name, rel) in enumerate(NAMES)] + [
    Kind(
        "non-UTF-8 bytes in the name",
        "names/\\xff\\xfe-latin.txt",
        "text",
        "embedded",
        _write(b"names/\xff\xfe-latin.txt", _text(20)),
    ),
    Kind(
        "NFC and NFD spellings of one name",
        f"names/{NFC}.txt",
        "text",
        "embedded",
        _pair((f"names/{NFC}.txt", _text(21)), (f"names/{NFD}.txt", _text(22))),
    ),
    Kind("the NFD twin", f"names/{NFD}.txt", "text", "embedded", lambda root: None),
    Kind(
        "non-UTF-8 name spelling another file's printable name",
        "names/\\xff.txt",
        "text",
        "one of two",
        _pair((b"names/\\xff.txt", _text(23)), (b"names/\xff.txt", _text(24))),
    ),
]

FS_KINDS = [
    Kind("unreadable file", "perm/unreadable.txt", "text", ("reason", "ermission denied"), _unreadable_file),
    Kind("unreadable folder", "locked", None, ("skipped", "cannot list folder"), _unreadable_folder),
    Kind(
        "symlink loop",
        "links/loop-a.txt",
        None,
        ("skipped", "symlink loop"),
        lambda root: [_symlink(f"links/loop-{a}.txt", f"loop-{b}.txt")(root) for a, b in ("ab", "ba")],
    ),
    Kind("folder symlink to its parent", "links/parent", None, "ignored", _symlink("links/parent", "..")),
    Kind(
        "symlink to a file outside",
        "links/outside.txt",
        None,
        ("skipped", "outside the folder"),
        _symlink("links/outside.txt", "/etc/hostname"),
    ),
    Kind(
        "symlink to a folder outside",
        "links/usr-share",
        None,
        ("skipped", "outside the folder"),
        _symlink("links/usr-share", "/usr/share"),
    ),
    Kind(
        "broken symlink",
        "links/dangling.txt",
        None,
        ("skipped", "broken symlink"),
        _symlink("links/dangling.txt", "does-not-exist.txt"),
    ),
    Kind(
        "symlink to a file inside",
        "links/inside.txt",
        "text",
        "embedded",
        _symlink("links/inside.txt", "../enc/utf8-bom.txt"),
    ),
    Kind("path longer than PATH_MAX", "d" * 250, None, ("skipped", "too long"), _too_deep),
    file_kind("hidden file", ".secret.txt", None, "ignored", _text(17)),
]

IMAGE_KINDS = [
    file_kind("0-byte image", "img/zero.jpg", "image", "bad", b""),
    file_kind(
        "truncated JPEG",
        "img/truncated.jpg",
        "image",
        "either",
        lambda: _pillow("RGB", "JPEG", (256, 256))[:1500],
    ),
    file_kind("garbage with .png", "img/garbage.png", "image", "bad", _random(2, 2048)),
    file_kind(
        "decompression bomb (50000x50000 PNG)", "img/bomb.png", "image", "bad", png_declaring(50000, 50000)
    ),
    file_kind(
        "huge dimensions (10000x9500 PNG)", "img/huge.png", "image", "either", lambda: png_blank(10000, 9500)
    ),
    file_kind(
        "extreme aspect ratio (1x20000)", "img/sliver.png", "image", "either", lambda: png_blank(1, 20000)
    ),
    file_kind("CMYK JPEG", "img/cmyk.jpg", "image", "ok", lambda: _pillow("CMYK", "JPEG")),
    file_kind("16-bit PNG", "img/gray16.png", "image", "ok", lambda: _pillow("I;16", "PNG")),
    file_kind(
        "palette PNG with transparency",
        "img/palette.png",
        "image",
        "ok",
        lambda: _pillow("P", "PNG", transparency=0),
    ),
    file_kind("grey + alpha PNG", "img/la.png", "image", "ok", lambda: _pillow("LA", "PNG")),
    file_kind("animated GIF", "img/animated.gif", "image", "ok", _animated_gif),
    file_kind("PNG named .jpg", "img/png-named.jpg", "image", "ok", lambda: _pillow("RGB", "PNG")),
    file_kind("text named .png", "img/text-named.png", "image", "bad", SENTENCE.encode()),
    file_kind("1x1 image", "img/pixel.png", "image", "ok", lambda: _pillow("RGB", "PNG", (1, 1))),
]

AUDIO_KINDS = [
    file_kind("0-byte audio", "snd/zero.wav", "audio", "bad", b""),
    file_kind("truncated WAV", "snd/truncated.wav", "audio", "either", lambda: wav_bytes(2.0)[:9000]),
    file_kind("garbage with .mp3", "snd/garbage.mp3", "audio", "bad", _random(3, 4096)),
    file_kind("WAV with no frames", "snd/no-frames.wav", "audio", "bad", lambda: wav_bytes(0.0)),
    file_kind("WAV named .mp3", "snd/wav-named.mp3", "audio", "ok", lambda: wav_bytes(1.0)),
    file_kind("WAV claiming 2 GB of samples", "snd/absurd.wav", "audio", "either", wav_claiming(0x7FFFFFF0)),
    file_kind("text named .flac", "snd/text.flac", "audio", "bad", SENTENCE.encode()),
    file_kind("one second of silence", "snd/silence.wav", "audio", "ok", lambda: wav_bytes(1.0, tone=False)),
]

VIDEO_KINDS = [
    file_kind("0-byte video", "vid/zero.mp4", "video", "bad", b""),
    file_kind("garbage with .mkv", "vid/garbage.mkv", "video", "bad", _random(4, 4096)),
    file_kind("truncated MP4", "vid/truncated.mp4", "video", "either", lambda: mp4_bytes(30)[:700]),
    file_kind("MP4 with no streams", "vid/no-streams.mp4", "video", "bad", mp4_without_streams()),
    file_kind(
        "MP4 claiming 136 years",
        "vid/absurd.mp4",
        "video",
        "either",
        lambda: with_absurd_duration(mp4_bytes(10)),
    ),
    file_kind(
        "audio-only MP4", "vid/audio-only.mp4", "video", "either", lambda: mp4_bytes(audio=True, video=False)
    ),
    file_kind("MP4 named .mkv", "vid/mp4-named.mkv", "video", "ok", lambda: mp4_bytes(10)),
    file_kind("text named .mp4", "vid/text.mp4", "video", "bad", SENTENCE.encode()),
]

ALL_KINDS = TEXT_KINDS + NAME_KINDS + FS_KINDS + IMAGE_KINDS + AUDIO_KINDS + VIDEO_KINDS


def build(root: Path) -> list[Kind]:
    """Write every kind under root (which must exist); returns the kinds."""
    for kind in ALL_KINDS:
        kind.make(root)
    return ALL_KINDS
