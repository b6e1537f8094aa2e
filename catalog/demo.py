"""Demo catalogs for the demo businesses (see accounts/demo.py), built through the
services. Product photos are drawn with Pillow: the demo needs no network."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from accounts.models import Business
from catalog import services

CATALOGS = {
    "padaria-aurora": {
        "Pães": [
            ("PAO-LEVAIN", "Pão de fermentação natural", 2490, None, None, (196, 140, 80)),
            ("PAO-CENTEIO", "Pão de centeio", 2790, None, 12, (120, 80, 50)),
            ("BAGUETE", "Baguete tradicional", 1290, None, None, (214, 170, 100)),
        ],
        "Bolos e doces": [
            ("BOLO-CENOURA", "Bolo de cenoura com chocolate", 4500, 5200, None, (230, 120, 40)),
            ("BRIGADEIRO-12", "Caixa com 12 brigadeiros", 3600, None, 0, (90, 50, 30)),
            ("SONHO", "Sonho de creme", 890, None, None, (240, 210, 150)),
        ],
    },
    "mare-moda": {
        "Praia": [
            ("MM-BIQUINI-AZ", "Biquíni Maré azul", 18990, 21990, 8, (30, 90, 160)),
            ("MM-SAIDA-LINHO", "Saída de praia de linho", 22900, None, 4, (220, 210, 190)),
        ],
        "Verão": [
            ("MM-VESTIDO-FLOR", "Vestido floral midi", 25900, None, None, (200, 90, 120)),
            ("MM-CAMISA-LINHO", "Camisa de linho", 17900, None, 0, (150, 170, 140)),
            ("MM-CHAPEU-PALHA", "Chapéu de palha", 8990, None, 15, (200, 170, 90)),
        ],
    },
}


def _photo(label: str, colour: tuple[int, int, int], variant: int) -> SimpleUploadedFile:
    img = Image.new("RGB", (960, 960), colour)
    draw = ImageDraw.Draw(img)
    light = tuple(min(255, c + 60) for c in colour)
    draw.rounded_rectangle((140 + variant * 40, 200, 820 - variant * 40, 760), 80, fill=light)
    ink = (40, 30, 20) if sum(colour) > 500 else (255, 255, 255)
    # Pillow's built-in font has no accents: the label is the SKU's first part.
    draw.text((480, 480), label, fill=ink, anchor="mm", font_size=96)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return SimpleUploadedFile(f"{variant}.jpg", buf.getvalue(), content_type="image/jpeg")


def load_demo() -> None:
    for slug, collections in CATALOGS.items():
        business = Business.objects.get(slug=slug)
        owner = business.memberships.get(role="owner").user
        for collection_name, products in collections.items():
            collection = services.create_collection(
                actor=owner, business=business, name=collection_name
            )
            for sku, name, price, compare_at, stock, colour in products:
                product = services.create_product(
                    actor=owner,
                    business=business,
                    retailer_id=sku,
                    name=name,
                    price=price,
                    compare_at_price=compare_at,
                    stock=stock,
                    description=f"{name}, de {business.name}.",
                    collection_ids=[collection.pk],
                )
                services.add_product_photos(
                    actor=owner,
                    product=product,
                    uploads=[_photo(sku.split("-")[0], colour, i) for i in (0, 1)],
                    alt_text=name,
                )
