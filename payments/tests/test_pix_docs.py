"""docs/pix.md shows BR Codes made by the project's generator: regenerate them."""

from pathlib import Path

from django.conf import settings

from payments.pix import brcode

DOC = Path(settings.BASE_DIR) / "docs" / "pix.md"


def test_the_documented_example_codes_are_the_generators():
    text = DOC.read_text(encoding="utf-8")
    static = brcode.build_static(
        key="7d9f0335-8dcc-4054-9bf9-0dbd61d36906",
        amount=9800,
        name="Padaria Central",
        city="São Paulo",
        txid="PEDIDO42",
    )
    dynamic = brcode.build_dynamic(
        location="https://pix.example.com/qr/9d36b84fc70b478fb95c12729b90ca25",
        name="Conversa Pagamentos",
        city="Sao Paulo",
        amount=9800,
    )
    assert f"\n{static}\n" in text
    assert f"\n{dynamic}\n" in text
    assert brcode.parse(static).amount == 9800 and brcode.parse(dynamic).dynamic
    assert "## Collected Pix: the flow" in text
