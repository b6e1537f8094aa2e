"""Uploaded images: validate, re-encode, strip metadata, make thumbnails.

Every image a user uploads goes through :func:`clean_image` before it is stored,
so what we serve is always an image we encoded ourselves: no EXIF (GPS!), no
embedded payloads, no surprise formats. Dimensions are read from the header and
checked *before* the pixels are decoded, which is what defeats decompression
bombs.
"""

import io
import uuid
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import AppError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
OUTPUT_FORMAT = "WEBP"
OUTPUT_EXT = "webp"


@dataclass(frozen=True)
class CleanImage:
    image: Image.Image

    def encode(self, *, max_side: int | None = None, square: int | None = None) -> ContentFile:
        """The image re-encoded as WebP, optionally shrunk or square-cropped."""
        img = self.image
        if square:
            img = ImageOps.fit(img, (square, square), Image.Resampling.LANCZOS)
        elif max_side and max(img.size) > max_side:
            img = img.copy()
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, OUTPUT_FORMAT, quality=85, method=4, exif=b"", xmp=b"")
        return ContentFile(buf.getvalue(), name=f"{uuid.uuid4().hex}.{OUTPUT_EXT}")


def _too_large_message(max_bytes: int) -> str:
    return _("The image is too large: the limit is %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}


def clean_image(upload, *, max_bytes: int, max_side: int) -> CleanImage:
    """Decode ``upload`` safely or raise :class:`AppError` saying why not."""
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise AppError(_too_large_message(max_bytes), code="image_too_large")
    if size == 0:
        raise AppError(_("The file is empty."), code="image_invalid")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(upload, formats=ALLOWED_FORMATS)
            width, height = img.size
            if width > max_side or height > max_side:
                raise AppError(
                    _("The image is %(w)s×%(h)s pixels; the limit is %(max)s×%(max)s.")
                    % {"w": width, "h": height, "max": max_side},
                    code="image_dimensions",
                )
            img.load()
    except AppError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The header claims more pixels than Pillow will decode: say so, not "not an image".
        raise AppError(
            _("The image has too many pixels; the limit is %(max)s×%(max)s.") % {"max": max_side},
            code="image_dimensions",
        ) from None
    except UnidentifiedImageError:
        raise AppError(
            _("This file is not a JPEG, PNG or WebP image."), code="image_invalid"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise AppError(
            _("The image is damaged and could not be read."), code="image_invalid"
        ) from None
    finally:
        upload.seek(0)

    img = ImageOps.exif_transpose(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    clean = img.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}
    return CleanImage(clean)
