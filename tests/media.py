"""Real media files for tests and the demo: speech, tones, photos and short videos.

Tests build the files they need in a temporary folder with these helpers, so the real decoders (soundfile,
PyAV, Pillow) read real files. `python -m tests.media sample-data OUT_DIR` rebuilds the committed
`sample_data/` folder deterministically (same tools and versions, same bytes for images, wav/flac and
video; ogg pages carry a random stream serial, so only their decoded samples repeat).

Provenance of sample_data/ (everything in it was made for vexplore or is public domain / CC0):

- `text/`: written for vexplore by its authors, released with the project under its MIT licence. The
  text is authored, not generated: the command copies it from the repository.
- `images/`: photos that ship inside the scikit-image wheel (`skimage/data/`, read with no download),
  downscaled to at most 512 px and re-encoded here, plus crops, mirror images and colour shifts of them:
  `astronaut.png` (Eileen Collins, NASA Great Images database, public domain), `rocket.jpg` (DSCOVR
  launch on a Falcon 9, SpaceX, released into the public domain), `chelsea.png` (the cat, CC0 by Stefan
  van der Walt), `coffee.png` (CC0 by Rachel Michetti), `hubble_deep_field.jpg` (NASA, public domain),
  `camera.png` (the cameraman, CC0 by Lav Varshney; kept greyscale) and `horse.png` (silhouette from
  openclipart, CC0 by Andreas Preuss; made a PNG with transparency). Licences as stated in the
  docstrings of `skimage.data` (scikit-image 0.26).
- `audio/`: speech synthesised here by espeak-ng from sentences written for vexplore, and a pure tone
  computed with numpy.
- `video/`: made here with PyAV (H.264, or MPEG-4 Part 2 when the PyAV build lacks libx264) from pans and
  zooms over the photos above; one has an AAC track of espeak-ng speech.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

SR = 16000
REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
PARTS = ("text", "images", "audio", "video")


class MediaToolMissing(RuntimeError):
    """A tool needed to make a kind of media (espeak-ng, scikit-image) is not installed."""


# --------------------------------------------------------------------------------------------- audio


def sine(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def speech_samples(
    text: str, voice: str = "en", speed: int | None = None, pitch: int | None = None, sr: int = SR
) -> np.ndarray:
    """espeak-ng speech as float32 mono at sr (espeak speaks at 22,050 Hz; soxr resamples)."""
    import soundfile as sf
    import soxr

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise MediaToolMissing(
            "espeak-ng is not installed (apt-get install espeak-ng, or `make system-deps`)"
        )
    cmd = [espeak, "-v", voice, "--stdin"]  # text on stdin: a sentence starting with "-" is not an option
    if speed is not None:
        cmd += ["-s", str(speed)]
    if pitch is not None:
        cmd += ["-p", str(pitch)]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run([*cmd, "-w", str(wav)], input=text.encode(), check=True, capture_output=True)
        samples, native_sr = sf.read(wav, dtype="float32", always_2d=True)
    samples = samples.mean(axis=1)
    if native_sr != sr:
        samples = soxr.resample(samples, native_sr, sr).astype(np.float32)
    return samples


_SOUNDFILE_SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS", ".mp3": "MPEG_LAYER_III"}
_AV_AUDIO = {".m4a": ("ipod", "aac"), ".aac": ("adts", "aac")}


def write_audio(path: str | Path, samples: np.ndarray, sr: int = SR) -> Path:
    """Write mono (n,) or multichannel (n, channels) float samples; the format follows the extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if suffix in _SOUNDFILE_SUBTYPES:
        import soundfile as sf

        sf.write(path, samples, sr, subtype=_SOUNDFILE_SUBTYPES[suffix])
    elif suffix in _AV_AUDIO:
        import av

        fmt, codec = _AV_AUDIO[suffix]
        with av.open(str(path), "w", format=fmt) as container:
            _mux_audio(container, _add_audio_stream(container, codec, samples, sr), samples)
    else:
        raise ValueError(
            f"no audio writer for {suffix!r}: use one of "
            f"{', '.join(sorted({**_SOUNDFILE_SUBTYPES, **_AV_AUDIO}))}"
        )
    return path


def speak(
    text: str,
    path: str | Path,
    voice: str = "en",
    speed: int | None = None,
    pitch: int | None = None,
    sr: int = SR,
) -> Path:
    """Speech as an audio file (16 kHz mono by default) in the format its extension names."""
    return write_audio(path, speech_samples(text, voice, speed, pitch, sr), sr)


def tone(
    path: str | Path, freq: float = 440.0, seconds: float = 1.0, sr: int = SR, amplitude: float = 0.5
) -> Path:
    return write_audio(path, sine(freq, seconds, sr, amplitude), sr)


def noise(
    path: str | Path, seconds: float = 1.0, sr: int = SR, amplitude: float = 0.1, seed: int = 0
) -> Path:
    samples = np.random.default_rng(seed).uniform(-amplitude, amplitude, round(seconds * sr))
    return write_audio(path, samples, sr)


def silence(path: str | Path, seconds: float = 1.0, sr: int = SR) -> Path:
    return write_audio(path, np.zeros(round(seconds * sr), np.float32), sr)


def _add_audio_stream(container, codec: str, samples: np.ndarray, sr: int):
    """An audio stream for samples; all streams must exist before the first packet is muxed."""
    layout = "mono" if samples.ndim == 1 or samples.shape[1] == 1 else "stereo"
    return container.add_stream(codec, rate=sr, layout=layout)


def _mux_audio(container, stream, samples: np.ndarray) -> None:
    """Encode samples into stream frame by frame (encoders with a fixed frame size get a padded last one)."""
    import av

    planar = samples.reshape(len(samples), -1).T.copy()  # (channels, n): the layout "fltp" wants
    frame_size = stream.codec_context.frame_size or 1024
    for start in range(0, planar.shape[1], frame_size):
        chunk = planar[:, start : start + frame_size]
        if chunk.shape[1] < frame_size:
            chunk = np.pad(chunk, ((0, 0), (0, frame_size - chunk.shape[1])))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate = stream.rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


# --------------------------------------------------------------------------------------------- video


def video_codec() -> str:
    """libx264 when this PyAV build has it (small files), else the always-present MPEG-4 Part 2."""
    import av

    try:
        av.codec.Codec("libx264", "w")
    except Exception:  # noqa: BLE001 - PyAV raises different errors across versions for a missing codec
        return "mpeg4"
    return "libx264"


def write_video(
    path: str | Path,
    frames: Sequence[Image.Image | np.ndarray],
    fps: int = 8,
    audio: tuple[np.ndarray, int] | None = None,
    crf: int = 30,
) -> Path:
    """An .mp4/.mov/.mkv of the frames (all one size; odd sides lose a pixel) with an optional AAC track."""
    import av

    path = Path(path)
    if not frames:
        raise ValueError("write_video needs at least one frame")
    images = [f if isinstance(f, Image.Image) else Image.fromarray(np.asarray(f)) for f in frames]
    width, height = (images[0].width // 2) * 2, (images[0].height // 2) * 2  # yuv420p needs even sides
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = video_codec()
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1  # the thread count shapes x264's output: fix it
        if codec == "libx264":
            # with its SIMD code, x264 (PyAV 18 wheel) gave different bytes for the same frames from one
            # encode to the next, as if reading memory it never wrote; its plain C code (asm=0) gives the
            # same bytes every time and is fast enough for clips this small
            stream.options = {"crf": str(crf), "preset": "medium", "threads": "1", "x264-params": "asm=0"}
        else:
            stream.codec_context.bit_rate = 400_000
        samples = None if audio is None else np.asarray(audio[0], np.float32)
        audio_stream = None if audio is None else _add_audio_stream(container, "aac", samples, audio[1])
        for i, img in enumerate(images):
            if img.size != images[0].size:
                raise ValueError(f"frame {i} is {img.size}, frame 0 is {images[0].size}")
            frame = av.VideoFrame.from_image(img.convert("RGB").crop((0, 0, width, height)))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            _mux_audio(container, audio_stream, samples)
    return path


def pan_zoom_frames(
    img: Image.Image,
    n: int,
    size: tuple[int, int] = (320, 240),
    start: tuple[float, float, float] = (0.5, 0.5, 1.0),
    end: tuple[float, float, float] = (0.5, 0.5, 0.6),
) -> list[Image.Image]:
    """n frames of a virtual camera moving over img: (centre x, centre y, zoom) as fractions, start→end.

    zoom 1.0 is the largest window of the frame's aspect ratio that fits in img; smaller zooms in."""
    aspect = size[0] / size[1]
    full_w = min(img.width, img.height * aspect)
    frames = []
    for t in np.linspace(0.0, 1.0, n):
        cx, cy, zoom = (a + (b - a) * t for a, b in zip(start, end, strict=False))
        w = full_w * zoom
        h = w / aspect
        left = min(max(cx * img.width - w / 2, 0), img.width - w)
        top = min(max(cy * img.height - h / 2, 0), img.height - h)
        frames.append(img.resize(size, Image.Resampling.BICUBIC, box=(left, top, left + w, top + h)))
    return frames


# -------------------------------------------------------------------------------------------- photos


def fit(img: Image.Image, max_side: int = 512) -> Image.Image:
    """A copy no larger than max_side on either side (aspect kept)."""
    out = img.copy()
    out.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return out


def crop_fraction(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """Crop by (left, top, right, bottom) given as fractions of the width and height."""
    left, top, right, bottom = box
    return img.crop(
        (
            round(left * img.width),
            round(top * img.height),
            round(right * img.width),
            round(bottom * img.height),
        )
    )


def mirror(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def jitter(
    img: Image.Image, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0, hue: int = 0
) -> Image.Image:
    """Colour jitter: enhancement factors (1.0 = unchanged) and a hue rotation in 0–255 HSV steps."""
    out = img.convert("RGB")
    for enhancer, factor in (
        (ImageEnhance.Brightness, brightness),
        (ImageEnhance.Contrast, contrast),
        (ImageEnhance.Color, saturation),
    ):
        if factor != 1.0:
            out = enhancer(out).enhance(factor)
    if hue:
        hsv = np.asarray(out.convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + hue) % 256
        out = Image.fromarray(hsv, "HSV").convert("RGB")
    return out


def save_jpeg(img: Image.Image, path: str | Path, quality: int = 85) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=quality, optimize=True)
    return path


def save_png(img: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG", optimize=True)
    return path


def skimage_photo(name: str) -> Image.Image:
    """A photo bundled inside the scikit-image wheel (no download), as a PIL image."""
    try:
        from skimage import data
    except ImportError as exc:
        raise MediaToolMissing("scikit-image is not installed (pip install scikit-image)") from exc
    array = getattr(data, name)()
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    return Image.fromarray(array)


# ------------------------------------------------------------------------------------ sample_data spec


@dataclass(frozen=True)
class PhotoSubject:
    folder: str
    skimage_name: str
    crop: tuple[float, float, float, float]  # keeps the object in frame
    jitter: tuple[float, float, float, int]  # brightness, contrast, saturation, hue


PHOTOS = (
    PhotoSubject("astronaut", "astronaut", (0.05, 0.0, 0.75, 0.7), (1.15, 0.9, 1.2, 0)),
    PhotoSubject("rocket", "rocket", (0.25, 0.05, 0.75, 1.0), (0.85, 1.15, 0.8, 6)),
    PhotoSubject("cat", "chelsea", (0.15, 0.0, 0.85, 0.9), (1.1, 1.1, 0.7, -8)),
    PhotoSubject("coffee", "coffee", (0.2, 0.0, 0.8, 0.85), (0.9, 1.2, 1.3, 4)),
    PhotoSubject("galaxies", "hubble_deep_field", (0.3, 0.3, 0.8, 0.8), (1.2, 1.1, 0.8, 10)),
)
GREYSCALE_PHOTO = ("cameraman/cameraman_grey.jpg", "camera")
TRANSPARENT_PNG = ("horse/horse_transparent.png", "horse")


@dataclass(frozen=True)
class Speech:
    file: str
    text: str
    voice: str = "en"
    speed: int | None = None
    pitch: int | None = None


ROCKET_SENTENCE = "The rocket launched toward Mars."
SPEECH = (
    # the same sentence and the same word in two voices, so tests can compare them with other speech
    Speech("rocket_launch_en.wav", ROCKET_SENTENCE, "en"),
    Speech("rocket_launch_en-us.wav", ROCKET_SENTENCE, "en-us"),
    Speech("word_garden_en.wav", "garden", "en"),
    Speech("word_garden_en-us_slow.wav", "garden", "en-us", speed=120, pitch=30),
    Speech("word_football_en.wav", "football", "en"),
    Speech("bread_dough_en.wav", "Knead the bread dough until it is smooth and elastic.", "en"),
    Speech("striker_goal_en-us.flac", "The striker scored a goal in the final minute.", "en-us"),
    Speech("water_tomatoes_en.ogg", "Water the tomatoes early in the morning.", "en"),
    Speech("sorted_list_en.wav", "The function returns a sorted list of numbers.", "en-us", speed=160),
)
TONE = ("tone_440hz.wav", 440.0, 2.0)


@dataclass(frozen=True)
class Clip:
    file: str
    photo: str  # the photo subject folder the camera moves over
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    seconds: float = 3.0
    speech: str | None = None  # an espeak-ng audio track; the clip lasts as long as the speech


VIDEO_FPS = 8
VIDEO_SIZE = (320, 240)
CLIPS = (
    Clip("rocket_pan.mp4", "rocket", (0.2, 0.5, 0.7), (0.8, 0.4, 0.7)),
    Clip("cat_zoom.mp4", "cat", (0.5, 0.5, 1.0), (0.55, 0.45, 0.55)),
    Clip(
        "coffee_narrated.mp4",
        "coffee",
        (0.4, 0.5, 0.9),
        (0.5, 0.4, 0.6),
        speech="A fresh cup of coffee is waiting on the table.",
    ),
)


# ------------------------------------------------------------------------------------- sample_data make

Log = Callable[[str], None]


def _photo_original(subject: PhotoSubject) -> str:
    return f"{subject.folder}/{subject.folder}.jpg"


def make_images(out: Path, log: Log) -> list[Path]:
    """Originals (≤ 512 px) and two variants per subject, a greyscale JPEG and a transparent PNG."""
    images = out / "images"
    written = []
    for subject in PHOTOS:
        photo = fit(skimage_photo(subject.skimage_name).convert("RGB"))
        brightness, contrast, saturation, hue = subject.jitter
        written += [
            save_jpeg(photo, images / _photo_original(subject)),
            save_jpeg(
                fit(crop_fraction(photo, subject.crop), 384),
                images / subject.folder / f"{subject.folder}_crop.jpg",
            ),
            save_jpeg(
                jitter(mirror(photo), brightness, contrast, saturation, hue),
                images / subject.folder / f"{subject.folder}_flip_jitter.jpg",
            ),
        ]
    grey_file, grey_name = GREYSCALE_PHOTO
    written.append(save_jpeg(fit(skimage_photo(grey_name).convert("L"), 384), images / grey_file))
    png_file, png_name = TRANSPARENT_PNG
    silhouette = fit(skimage_photo(png_name).convert("L"), 384)
    alpha = ImageOps.invert(silhouette).filter(ImageFilter.GaussianBlur(1))  # the horse is black on white
    horse = Image.new("RGBA", silhouette.size, (92, 58, 33, 255))
    horse.putalpha(alpha)
    written.append(save_png(horse, images / png_file))
    log(f"images: {len(written)} files")
    return written


def make_audio(out: Path, log: Log) -> list[Path]:
    audio = out / "audio"
    written = [speak(s.text, audio / s.file, s.voice, s.speed, s.pitch) for s in SPEECH]
    name, freq, seconds = TONE
    written.append(tone(audio / name, freq, seconds))
    log(f"audio: {len(written)} files")
    return written


def make_video(out: Path, log: Log) -> list[Path]:
    """Clips over the sample photos: from out/images when made there, else the committed ones."""
    written = []
    for clip in CLIPS:
        subject = next(s for s in PHOTOS if s.folder == clip.photo)
        source = next(
            (
                root / "images" / _photo_original(subject)
                for root in (out, SAMPLE_DATA)
                if (root / "images" / _photo_original(subject)).is_file()
            ),
            None,
        )
        if source is None:
            raise MediaToolMissing(
                f"no photo to film for {clip.file}: make the images first (needs scikit-image)"
            )
        audio = None
        seconds = clip.seconds
        if clip.speech:
            samples = speech_samples(clip.speech)
            seconds = max(2.0, min(4.0, len(samples) / SR))
            samples = np.pad(samples, (0, max(0, round(seconds * SR) - len(samples))))[: round(seconds * SR)]
            audio = (samples, SR)
        with Image.open(source) as img:
            frames = pan_zoom_frames(
                img.convert("RGB"), round(seconds * VIDEO_FPS), VIDEO_SIZE, clip.start, clip.end
            )
        written.append(write_video(out / "video" / clip.file, frames, VIDEO_FPS, audio))
    log(f"video: {len(written)} files")
    return written


def copy_text(out: Path, log: Log) -> list[Path]:
    """The authored documents, copied from the repository (nothing to do when out is sample_data)."""
    source = SAMPLE_DATA / "text"
    if (out / "text").resolve() != source.resolve():
        shutil.copytree(source, out / "text", dirs_exist_ok=True)
    written = sorted(p for p in (out / "text").rglob("*") if p.is_file())
    log(f"text: {len(written)} files")
    return written


MAKERS = {"text": copy_text, "images": make_images, "audio": make_audio, "video": make_video}


def make_sample_data(out: Path, parts: Sequence[str] = PARTS, log: Log = print) -> list[Path]:
    """Everything asked for; photos are skipped with a message (not an error) without scikit-image."""
    written: list[Path] = []
    for part in parts:
        try:
            written += MAKERS[part](Path(out), log)
        except MediaToolMissing as exc:
            if part != "images":
                raise
            log(f"images: skipped, {exc}; videos are filmed from the committed sample_data/images")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.media", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("sample-data", help="(re)generate the sample data into OUT_DIR")
    make.add_argument("out", type=Path, metavar="OUT_DIR")
    make.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to make (default: all of {','.join(PARTS)})",
    )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    try:
        make_sample_data(args.out, parts, log=lambda line: print(line, file=sys.stderr))
    except MediaToolMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
