"""Content evidence beside the embedding, for deciding whether two files are copies: MinHash signatures
of a text's character shingles (an edited text keeps most of them) a perceptual hash of a picture's
stored thumbnail (a resized, slightly cropped or re-encoded picture keeps most of its bits), and a
band-energy fingerprint of a sound (a resampled or re-encoded sound keeps most of its bits).

Both are computed only for the files a finder asks about (the few near an embedding cut-off), never for
the whole store, and compared pair by pair in numpy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

SHINGLE = 5  # characters per shingle of normalised text: short enough that an edited word costs a few
PERMUTATIONS = 128  # MinHash signature length: a Jaccard estimate within a few hundredths
MAX_CHARS = 200_000  # of a text read for evidence
MINHASH_BLOCK = 4096  # shingles hashed at once
SOUND_SECONDS = 30.0  # of a sound read for its fingerprint
SOUND_FRAME = 2048  # samples (at the decoder's rate) per fingerprint frame
SOUND_BANDS = np.geomspace(200.0, 6000.0, 33)  # band edges in Hz: below what a resampler cuts
_RNG = np.random.default_rng(20261130)  # fixed: signatures must be comparable between runs
_A = _RNG.integers(0, np.iinfo(np.uint64).max, PERMUTATIONS, dtype=np.uint64, endpoint=True) | np.uint64(1)
_B = _RNG.integers(0, np.iinfo(np.uint64).max, PERMUTATIONS, dtype=np.uint64, endpoint=True)
_NOT_WORD = re.compile(r"[\W_]+")
EMPTY = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, np.uint64)


def normalise_text(text: str) -> str:
    """Lower case, punctuation and runs of white space as one space: what an edit of layout leaves alone."""
    return _NOT_WORD.sub(" ", text[:MAX_CHARS].lower()).strip()


def shingles(text: str, size: int = SHINGLE) -> np.ndarray:
    """The distinct shingles of a normalised text as uint64 codes (a text shorter than one shingle is
    one shingle)."""
    raw = np.frombuffer(normalise_text(text).encode("utf-8"), np.uint8).astype(np.uint64)
    if len(raw) == 0:
        return np.zeros(0, np.uint64)
    if len(raw) < size:
        raw = np.concatenate([raw, np.zeros(size - len(raw), np.uint64)])
    windows = np.lib.stride_tricks.sliding_window_view(raw, size)
    codes = windows @ (np.uint64(256) ** np.arange(size, dtype=np.uint64))
    return np.unique(codes)


def minhash(codes: np.ndarray) -> np.ndarray:
    """[PERMUTATIONS] signature: the share of equal positions of two signatures estimates the Jaccard
    overlap of their shingle sets. Each permutation is a multiply-shift hash (a·x + b mod 2^64, top 32
    bits, a odd) of the codes after a splitmix64 mix; uint64 products wrap, which is the modulus."""
    out = EMPTY.copy()
    with np.errstate(over="ignore"):
        for start in range(0, len(codes), MINHASH_BLOCK):  # bounded memory for a long text
            x = _mix(codes[start : start + MINHASH_BLOCK])[:, None]
            out = np.minimum(out, ((_A * x + _B) >> np.uint64(32)).min(axis=0))
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: nearby codes (shingles differ in one byte) become unrelated."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise estimated Jaccard overlap of two [m, PERMUTATIONS] signature arrays."""
    both_empty = (a == EMPTY).all(axis=1) & (b == EMPTY).all(axis=1)
    return np.where(both_empty, 1.0, (a == b).mean(axis=1))


def text_signature(path: Path) -> np.ndarray | None:
    """The MinHash of a text file's decoded text (PDF, HTML… as the text model reads it), or None."""
    from ..decode.text import read_text
    from ..models.base import DecodeError

    try:
        text, _ = read_text(path)
    except (DecodeError, OSError, ValueError):
        return None
    return minhash(shingles(text))


def phash(image_bytes: bytes) -> int | None:
    """64-bit perceptual hash of a picture: the signs, against their median, of the 8×8 lowest
    frequencies of the DCT of a 32×32 grey shrink. Unlike a difference hash it does not take two smooth
    pictures with the same gradient for copies. None when the bytes are no picture."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image_bytes)) as img:
            grey = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.BOX), np.float64)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    low = (_DCT @ grey @ _DCT.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])  # the constant term left out of the median
    return int(np.packbits(bits).view(">u8")[0])


def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: row u holds cos(pi (2x+1) u / 2n)."""
    x, u = np.meshgrid(np.arange(size), np.arange(size))
    m = np.cos(np.pi * (2 * x + 1) * u / (2 * size)) * np.sqrt(2 / size)
    m[0] /= np.sqrt(2)
    return m


_DCT = _dct_matrix(32)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between two uint64 arrays of hashes."""
    return np.bitwise_count(np.bitwise_xor(a.astype(np.uint64), b.astype(np.uint64))).astype(np.int64)


def sound_print(path: Path) -> np.ndarray | None:
    """[frames, bands] bits of a sound: is each band's power density above the frame's median? A copy
    resampled, re-encoded or made louder keeps nearly every bit; an unrelated sound agrees on about half.
    None when the file cannot be decoded or is shorter than one frame."""
    from ..decode.audio import SAMPLE_RATE, load_audio
    from ..models.base import DecodeError

    try:
        samples, _ = load_audio(path, seconds=SOUND_SECONDS)
    except (DecodeError, OSError, ValueError):
        return None
    frames = len(samples) // SOUND_FRAME
    if frames == 0:
        return None
    block = samples[: frames * SOUND_FRAME].reshape(frames, SOUND_FRAME) * np.hanning(SOUND_FRAME)
    power = np.abs(np.fft.rfft(block, axis=1)) ** 2
    band = np.searchsorted(SOUND_BANDS, np.fft.rfftfreq(SOUND_FRAME, 1 / SAMPLE_RATE)) - 1
    inside = (band >= 0) & (band < len(SOUND_BANDS) - 1)
    member = np.zeros((len(band), len(SOUND_BANDS) - 1))
    member[np.flatnonzero(inside), band[inside]] = 1.0
    counts = member.sum(axis=0)
    density = (power @ member)[:, counts > 0] / counts[counts > 0]
    return density > np.median(density, axis=1, keepdims=True)


def sound_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The share of differing bits of two sound prints over their common frames (from the start)."""
    frames = min(len(a), len(b))
    return float(np.mean(a[:frames] != b[:frames])) if frames else 0.5
