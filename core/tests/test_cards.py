"""Card numbers in typed text: refused in payment fields, masked in conversations."""

import pytest

from core.cards import contains_card_number, looks_like_card, mask_card_numbers, refuse_card_number
from core.errors import AppError


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my card is 4242 4242 4242 4242 ok?", "my card is •••• 4242 ok?"),
        ("5555-5555-5555-4444", "•••• 4444"),
        ("4000.0566.5566.5556 and 378282246310005", "•••• 5556 and •••• 0005"),
        # A phone, a CPF, a CNPJ, a boleto line and an order number stay as typed.
        ("call +55 11 91234-5676", "call +55 11 91234-5676"),
        ("CPF 390.533.447-05", "CPF 390.533.447-05"),
        ("CNPJ 11222333000181", "CNPJ 11222333000181"),
        (
            "23793.38128 60007.827136 95000.063305 9 84410000010000",
            "23793.38128 60007.827136 95000.063305 9 84410000010000",
        ),
        ("order 4242424242424241", "order 4242424242424241"),  # not Luhn-valid
        ("", ""),
    ],
)
def test_card_numbers_in_conversation_text_are_masked(text, masked):
    assert mask_card_numbers(text) == masked


def test_a_card_is_a_whole_run_with_a_network_prefix_and_length():
    assert looks_like_card("4242424242424242")
    assert looks_like_card("4222222222222")  # a 13-digit Visa
    assert not looks_like_card("5511912345676")  # 13 digits that are not a Visa
    assert not looks_like_card("1234567812345670")  # Luhn-valid, no network starts with 1


def test_payment_text_with_a_card_number_is_refused_naming_the_field():
    with pytest.raises(AppError) as caught:
        refuse_card_number("pay with 4242424242424242 cvc 123", field="note")

    assert (caught.value.code, caught.value.field) == ("card_number_in_text", "note")
    refuse_card_number("Bolo de cenoura, 2 fatias", field="note")  # nothing raised
    assert contains_card_number("x42424242424242421234")  # inside a longer run too
