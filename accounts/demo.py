"""Demo data: two businesses, their staff and a few customers, built through the
services like a real user would. Loaded by ``manage.py seed_demo`` (``make run``)."""

import datetime
import io

from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image, ImageDraw

from accounts import services
from accounts.models import Business, Membership, User

DEMO_PASSWORD = "conversa-demo"  # noqa: S105 - printed for the demo on purpose

USERS = [
    # email, display name, phone, is operator
    ("admin@conversa.example", "Operator", "", True),
    ("ana@padaria-aurora.example", "Ana Souza", "+5511987650001", False),
    ("bruno@padaria-aurora.example", "Bruno Lima", "+5511987650002", False),
    ("carla@mare-moda.example", "Carla Menezes", "+5581987650003", False),
    ("diego@example.com", "Diego Alves", "+5511987650004", False),
    ("elisa@example.com", "Elisa Rocha", "+5521987650005", False),
]

BUSINESSES = [
    {
        "owner": "ana@padaria-aurora.example",
        "agents": ["bruno@padaria-aurora.example"],
        "name": "Padaria Aurora",
        "slug": "padaria-aurora",
        "profile": {
            "about": "Pão de fermentação natural e doces caseiros desde 1998.",
            "description": "Padaria de bairro em Pinheiros. Encomendas de bolos com 48 h de "
            "antecedência; entregamos na zona oeste.",
            "category": Business.Category.FOOD,
            "address": "Rua dos Pinheiros, 1200",
            "city": "São Paulo",
            "email": "contato@padaria-aurora.example",
            "phone": "+551130000001",
            "website": "https://padaria-aurora.example",
            "store_url": "https://loja.padaria-aurora.example",
        },
        "colour": (217, 119, 6),
        "hours": [(d, datetime.time(6), datetime.time(20)) for d in range(6)]
        + [(6, datetime.time(7), datetime.time(13))],
    },
    {
        "owner": "carla@mare-moda.example",
        "agents": [],
        "name": "Maré Moda",
        "slug": "mare-moda",
        "profile": {
            "about": "Moda praia e roupas leves feitas em Pernambuco.",
            "description": "Coleções pequenas, tecidos naturais, envio para todo o Brasil.",
            "category": Business.Category.APPAREL,
            "address": "Av. Boa Viagem, 3000",
            "city": "Recife",
            "email": "oi@mare-moda.example",
            "phone": "+558130000002",
            "website": "https://mare-moda.example",
            "store_url": "https://mare-moda.example/loja",
        },
        "colour": (15, 118, 110),
        "hours": [(d, datetime.time(9), datetime.time(18)) for d in range(5)]
        + [(5, datetime.time(9), datetime.time(14))],
    },
]


def _logo(initial: str, colour: tuple[int, int, int]) -> SimpleUploadedFile:
    img = Image.new("RGB", (512, 512), colour)
    draw = ImageDraw.Draw(img)
    draw.ellipse((96, 96, 416, 416), fill=(255, 255, 255))
    draw.text((256, 256), initial, fill=colour, anchor="mm", font_size=220)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return SimpleUploadedFile("logo.png", buf.getvalue(), content_type="image/png")


@transaction.atomic
def load_demo() -> None:
    users = {}
    for email, name, phone, operator in USERS:
        maker = User.objects.create_superuser if operator else User.objects.create_user
        user = maker(email=email, password=DEMO_PASSWORD, display_name=name, phone=phone)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        users[email] = user
    for spec in BUSINESSES:
        owner = users[spec["owner"]]
        business = services.create_business(
            user=owner, name=spec["name"], slug=spec["slug"], **spec["profile"]
        )
        for agent in spec["agents"]:
            Membership.objects.create(
                user=users[agent], business=business, role=Membership.Role.AGENT
            )
        services.set_business_logo(
            actor=owner, business=business, upload=_logo(spec["name"][0], spec["colour"])
        )
        services.set_opening_hours(actor=owner, business=business, hours=spec["hours"])


def print_logins(out) -> None:
    out.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for email, role in logins():
        out.write(f"  {email:32} {role}")


def logins() -> list[tuple[str, str]]:
    roles = {
        "admin@conversa.example": "platform operator (Django admin at /admin/)",
        "ana@padaria-aurora.example": "owner of Padaria Aurora",
        "bruno@padaria-aurora.example": "agent at Padaria Aurora",
        "carla@mare-moda.example": "owner of Maré Moda",
        "diego@example.com": "customer",
        "elisa@example.com": "customer",
    }
    return list(roles.items())
