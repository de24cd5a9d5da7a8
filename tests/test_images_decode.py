"""Image decoding: every Pillow mode to RGB, EXIF orientation, animations, bombs, broken files, formats,
JPEG draft mode, thumbnails, and the preprocessing that turns a picture into a model-sized part."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.photos import photo
from vexplore.engine.decode import image as image_mod
from vexplore.engine.decode.image import load_image, read_image, thumbnail_bytes
from vexplore.engine.models.base import DecodeError
from vexplore.engine.models.imagebase import Preprocess

RED, BLUE = (255, 0, 0), (0, 0, 255)


def halves(size=(60, 40), left=RED, right=BLUE, mode="RGB") -> Image.Image:
    img = Image.new(mode, size, left)
    img.paste(Image.new(mode, (size[0] // 2, size[1]), right), (size[0] // 2, 0))
    return img


def close(pixel, colour, tol=40) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(pixel, colour, strict=False))


def test_exif_orientation_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90° clockwise
    halves().save(path, exif=exif.tobytes(), quality=95)
    img, meta = read_image(path, target=None)
    assert img.size == (40, 60) and (meta["width"], meta["height"]) == (40, 60)
    assert meta["exif_rotated"] is True
    assert close(img.getpixel((20, 5)), RED) and close(
        img.getpixel((20, 55)), BLUE
    )  # left half is now on top


def test_palette_with_transparency_goes_over_white(tmp_path):
    path = tmp_path / "pal.png"
    img = halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    red_index = img.getpixel((0, 0))
    img.info["transparency"] = red_index
    img.save(path, transparency=red_index)
    out, meta = read_image(path)
    assert out.mode == "RGB" and meta["mode"] == "P"
    assert close(out.getpixel((5, 5)), (255, 255, 255), 2) and close(out.getpixel((55, 5)), BLUE)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(tmp_path, mode):
    path = tmp_path / f"alpha-{mode}.png"
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (10, 20), (0, 0, 0, 255)), (10, 0))
    img.convert(mode).save(path)
    out = load_image(path)
    assert out.mode == "RGB"
    assert out.getpixel((2, 2)) == (255, 255, 255) and out.getpixel((15, 2)) == (0, 0, 0)


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(path, quality=95)
    out, meta = read_image(path)
    assert meta["mode"] == "CMYK" and out.mode == "RGB" and close(out.getpixel((16, 16)), RED)


def test_sixteen_bit_grey_is_rescaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    arr = np.full((16, 16), 32768, dtype=np.uint16)
    arr[:, 8:] = 65535
    Image.fromarray(arr).save(path)
    out, meta = read_image(path)
    assert meta["mode"].startswith("I")
    assert close(out.getpixel((2, 2)), (128, 128, 128), 2) and out.getpixel((12, 2)) == (255, 255, 255)


def test_greyscale_and_bilevel(tmp_path):
    Image.new("L", (10, 10), 77).save(tmp_path / "grey.png")
    Image.new("1", (10, 10), 1).save(tmp_path / "bw.png")
    assert load_image(tmp_path / "grey.png").getpixel((1, 1)) == (77, 77, 77)
    assert load_image(tmp_path / "bw.png").getpixel((1, 1)) == (255, 255, 255)


def test_animated_gif_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out, meta = read_image(path)
    assert meta["frames"] == 2 and close(out.getpixel((10, 10)), RED)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims another size: decoding it would allocate width*height."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    raw = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    raw[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(raw[12 : ihdr + 13]))
    raw[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(raw)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(40000, 40000))
    with pytest.raises(DecodeError, match="decompression bomb"):
        read_image(path)


def test_pixel_limit_is_ours(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(path)
    monkeypatch.setattr(image_mod, "MAX_PIXELS", 9999)
    with pytest.raises(DecodeError, match="10,000 pixels"):
        read_image(path)


def test_truncated_and_garbage_files_are_decode_errors(tmp_path):
    whole = photo("china.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    (tmp_path / "noise.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "text.jpg").write_bytes(b"hello, not a picture")
    with pytest.raises(DecodeError, match="truncated"):
        read_image(tmp_path / "cut.jpg")
    for name in ("noise.png", "text.jpg"):
        with pytest.raises(DecodeError):
            read_image(tmp_path / name)
    with pytest.raises(FileNotFoundError):  # the loader reports this one as "file vanished"
        read_image(tmp_path / "absent.png")


@pytest.mark.parametrize(
    "fmt,ext", [("WEBP", "webp"), ("TIFF", "tif"), ("BMP", "bmp"), ("GIF", "gif"), ("PPM", "ppm")]
)
def test_optional_formats(tmp_path, fmt, ext):
    path = tmp_path / f"img.{ext}"
    halves().save(path, fmt)
    out, meta = read_image(path)
    assert meta["format"] == fmt and out.size == (60, 40) and close(out.getpixel((50, 20)), BLUE, 60)


def test_multipage_tiff_first_page(tmp_path):
    path = tmp_path / "pages.tif"
    Image.new("RGB", (8, 8), BLUE).save(path, save_all=True, append_images=[Image.new("RGB", (8, 8), RED)])
    out, meta = read_image(path)
    assert meta["frames"] == 2 and close(out.getpixel((4, 4)), BLUE)


def test_jpeg_draft_mode_decodes_only_what_is_needed(tmp_path):
    path = tmp_path / "large.jpg"
    load_image(photo("china.jpg"), target=None).resize((1600, 1200)).save(path, quality=90)
    small, meta = read_image(path, target=224)
    assert (meta["width"], meta["height"]) == (1600, 1200)  # facts about the file, not the decode
    assert small.size == (400, 300)  # 1/4 scale: the smallest that still has >= 224 px on the short side
    assert read_image(path, target=None)[0].size == (1600, 1200)
    assert read_image(path, target=500)[0].size == (800, 600)
    assert read_image(path, target=700)[0].size == (1600, 1200)  # half size would be too small
    png = tmp_path / "large.png"
    Image.open(path).save(png)
    assert read_image(png, target=224)[0].size == (1600, 1200)  # draft is a JPEG feature only


def test_draft_decode_embeds_like_a_full_decode(tmp_path):
    path = tmp_path / "large.jpg"
    load_image(photo("chelsea.png"), target=None).resize((1804, 1200)).save(path, quality=92)
    prep = Preprocess(short=224, crop=(224, 224))
    drafted = prep(load_image(path, target=224)).astype(np.float32)
    full = prep(load_image(path, target=None)).astype(np.float32)
    assert drafted.shape == full.shape == (224, 224, 3)
    assert np.abs(drafted - full).mean() < 4.0  # a few grey levels on 0..255: the same picture


def test_thumbnail_is_small_jpeg(tmp_path):
    img = load_image(photo("astronaut.png"), target=None)
    data = thumbnail_bytes(img)
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG" and max(thumb.size) == 256 and len(data) < 40_000
    assert img.size == (512, 512)  # the source is left alone
    tiny = Image.new("RGB", (30, 20), RED)
    assert Image.open(io.BytesIO(thumbnail_bytes(tiny))).size == (30, 20)  # never enlarged


def test_preprocess_from_hf_configs():
    clip = Preprocess.from_hf(
        {
            "size": {"shortest_edge": 224},
            "crop_size": {"height": 224, "width": 224},
            "do_center_crop": True,
            "image_mean": [0.5] * 3,
            "image_std": [0.25] * 3,
        }
    )
    assert (clip.short, clip.crop, clip.squash, clip.mean, clip.needed) == (
        224,
        (224, 224),
        None,
        (0.5,) * 3,
        224,
    )
    resnet = Preprocess.from_hf({"size": {"shortest_edge": 224}, "crop_pct": 0.875})
    assert (resnet.short, resnet.crop, resnet.needed) == (256, (224, 224), 256)
    vit = Preprocess.from_hf({"size": {"height": 384, "width": 384}, "do_normalize": False})
    assert (vit.squash, vit.crop, vit.mean, vit.std) == ((384, 384), None, (0.0,) * 3, (1.0,) * 3)
    assert Preprocess.from_hf({}) == Preprocess()  # ImageNet defaults when a model ships no config


def test_preprocess_resizes_and_centre_crops():
    wide = halves((400, 100))
    part = Preprocess(short=50, crop=(40, 40))(wide)
    assert part.shape == (40, 40, 3) and part.dtype == np.uint8 and part.flags.c_contiguous
    assert close(part[20, 5], RED) and close(part[20, 35], BLUE)  # the crop sits on the middle seam
    squashed = Preprocess(squash=(32, 16), crop=None)(wide)
    assert squashed.shape == (16, 32, 3)
