"""Uploaded files for tests: real images, broken ones and hostile ones."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image


def image_bytes(fmt: str = "PNG", size=(64, 48), mode: str = "RGB", **save) -> bytes:
    color = {"RGB": (255, 0, 0), "RGBA": (255, 0, 0, 128)}.get(mode, 1)
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt, **save)
    return buf.getvalue()


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_upload(size=(64, 48), name: str = "logo.png", mode: str = "RGB"):
    return upload(image_bytes("PNG", size, mode), name)


def jpeg_with_gps(size=(40, 20), orientation: int | None = None) -> bytes:
    """A JPEG carrying a GPS position (and, optionally, an orientation tag)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (23.0, 33.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (46.0, 38.0, 0.0)
    buf = io.BytesIO()
    Image.new("RGB", size, "blue").save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb)."""
    data = bytearray(image_bytes("PNG", (1, 1)))
    # Signature (8 bytes), then the IHDR chunk: length (4), type (4), data (13), CRC (4).
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def truncated_png() -> bytes:
    # Noise does not compress, so cutting the file in half loses pixel data.
    buf = io.BytesIO()
    Image.effect_noise((128, 128), 64).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
