import io

import pytest
from PIL import ExifTags, Image

from core.errors import AppError
from core.images import clean_image
from core.tests.uploads import (
    HTML_BYTES,
    PDF_BYTES,
    image_bytes,
    jpeg_with_gps,
    png_bomb,
    truncated_png,
    upload,
)

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_side": 4096}


def _decode(content_file) -> Image.Image:
    return Image.open(io.BytesIO(content_file.read()))


@pytest.mark.parametrize(
    ("fmt", "mode"), [("PNG", "RGB"), ("JPEG", "RGB"), ("WEBP", "RGB"), ("PNG", "RGBA")]
)
def test_accepted_formats_come_out_as_webp(fmt, mode):
    # given an image in one of the accepted formats
    source = upload(image_bytes(fmt, (300, 200), mode), name=f"x.{fmt.lower()}")

    # when it is cleaned and encoded
    encoded = clean_image(source, **LIMITS).encode(max_side=100)

    # then what we store is a WebP we made, shrunk to the limit, alpha kept
    assert encoded.name.endswith(".webp")
    img = _decode(encoded)
    assert img.format == "WEBP"
    assert img.size == (100, 67)
    assert ("A" in img.mode) == (mode == "RGBA")


def test_square_thumbnail_is_cropped_to_size():
    clean = clean_image(upload(image_bytes("PNG", (300, 100))), **LIMITS)

    thumb = _decode(clean.encode(square=256))

    assert thumb.size == (256, 256)


def test_small_image_is_not_enlarged():
    clean = clean_image(upload(image_bytes("PNG", (30, 20))), **LIMITS)

    assert _decode(clean.encode(max_side=1024)).size == (30, 20)


def test_gps_and_other_exif_are_stripped():
    # given a JPEG that carries a GPS position
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    # when it is cleaned and re-encoded
    out = _decode(clean_image(upload(data, "me.jpg", "image/jpeg"), **LIMITS).encode())

    # then no metadata survives
    assert not out.getexif()
    assert "exif" not in out.info
    assert "xmp" not in out.info


def test_exif_orientation_is_applied_before_stripping():
    # given a 40×20 photo whose EXIF says "rotate 90°"
    data = jpeg_with_gps(size=(40, 20), orientation=6)

    out = _decode(clean_image(upload(data, "me.jpg", "image/jpeg"), **LIMITS).encode())

    # then the stored image is upright, with no orientation tag left to reapply
    assert out.size == (20, 40)
    assert not out.getexif()


def test_the_upload_is_rewound_after_cleaning():
    source = upload(image_bytes())

    clean_image(source, **LIMITS)

    assert source.tell() == 0


@pytest.mark.parametrize(
    ("data", "name", "code", "message"),
    [
        (b"just some text", "logo.png", "image_invalid", "not a JPEG, PNG or WebP"),
        (PDF_BYTES, "logo.jpg", "image_invalid", "not a JPEG, PNG or WebP"),
        (HTML_BYTES, "logo.png", "image_invalid", "not a JPEG, PNG or WebP"),
        (image_bytes("GIF"), "logo.gif", "image_invalid", "not a JPEG, PNG or WebP"),
        (image_bytes("BMP"), "logo.png", "image_invalid", "not a JPEG, PNG or WebP"),
        (truncated_png(), "logo.png", "image_invalid", "damaged"),
        (b"", "logo.png", "image_invalid", "empty"),
        (image_bytes("PNG", (5000, 10), mode="1"), "wide.png", "image_dimensions", "5000×10"),
        (png_bomb(), "bomb.png", "image_dimensions", "pixels"),
        (png_bomb(12_000, 12_000), "bomb.png", "image_dimensions", "pixels"),
    ],
    ids=[
        "text",
        "pdf",
        "html",
        "gif",
        "bmp",
        "truncated",
        "empty",
        "too-wide",
        "bomb",
        "bomb-warn",
    ],
)
def test_bad_uploads_are_refused_with_a_reason(data, name, code, message):
    with pytest.raises(AppError) as exc:
        clean_image(upload(data, name), **LIMITS)

    assert exc.value.code == code
    assert message in str(exc.value)


def test_oversized_file_is_refused_before_decoding():
    # given a file one byte over the limit (its content is never looked at)
    source = upload(b"\0" * 1025, "big.png")

    with pytest.raises(AppError) as exc:
        clean_image(source, max_bytes=1024, max_side=4096)

    assert exc.value.code == "image_too_large"
    assert "limit" in str(exc.value)
