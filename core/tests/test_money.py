"""core.money: amounts typed by people become integer minor units, and back."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import AppError
from core.money import MAX_MINOR, format_money, input_money, parse_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19,90", 1990),
        ("1.234,56", 123456),
        ("R$ 19,90", 1990),
        ("R$19,90", 1990),
        ("  19,90  ", 1990),
        ("19", 1900),
        ("0,01", 1),
        ("0", 0),
        ("1234,56", 123456),
    ],
)
def test_parse_money_pt_br(text, expected):
    # given an amount typed the Brazilian way
    # when it is parsed
    minor = parse_money(text, "BRL", language="pt-br")

    # then it is exact centavos, as an int
    assert minor == expected
    assert type(minor) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [("19.90", 1990), ("1,234.56", 123456), ("$19.90", 1990), ("19", 1900)],
)
def test_parse_money_en(text, expected):
    minor = parse_money(text, "BRL", language="en")

    assert minor == expected
    assert type(minor) is int


# French and Spanish readers type an amount in any of the unambiguous local ways.
LOCAL_WAYS = [
    ("1 234,56", 123456),  # grouped by a space (French)
    ("1\u00a0234,56", 123456),  # … a no-break space, as pasted
    ("1\u202f234,56", 123456),  # … the narrow one French amounts are printed with
    ("1.234,56", 123456),  # grouped by dots (Spanish, as in pt-BR)
    ("1234,56", 123456),
    ("1234.56", 123456),  # a decimal point with one or two decimals is never a group
    ("19.9", 1990),
    ("19,90", 1990),
    ("1 234 567,8", 123456780),
    ("1.234.567,8", 123456780),
    ("R$ 1.234,56", 123456),
    ("1 234,56 R$", 123456),
    ("1.234", 123400),  # three digits after a dot: a thousand, as in pt-BR
]


@pytest.mark.parametrize(("text", "expected"), LOCAL_WAYS)
@pytest.mark.parametrize("language", ["fr", "es"])
def test_parse_money_fr_and_es(text, expected, language):
    minor = parse_money(text, "BRL", language=language)

    assert minor == expected
    assert type(minor) is int


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1,234.56", "money_invalid"),  # English grouping: the comma is a decimal here
        ("1 234.56", "money_invalid"),  # a space group with a decimal point: ambiguous
        ("12 34,5", "money_invalid"),  # groups are three digits
        ("1.23.456", "money_invalid"),
        ("1 234.567,8", "money_invalid"),  # mixed separators
        ("-1 234,56", "money_negative"),
        ("19,999", "money_precision"),
    ],
)
@pytest.mark.parametrize("language", ["fr", "es"])
def test_fr_and_es_refuse_what_is_not_an_amount(text, code, language):
    with pytest.raises(AppError) as exc:
        parse_money(text, "BRL", language=language)
    assert exc.value.code == code


def test_the_lenient_ways_are_french_and_spanish_only():
    # pt-BR and English read exactly as before
    for text in ("1 234,56", "1234.56"):
        with pytest.raises(AppError):
            parse_money(text, "BRL", language="pt-br")
    with pytest.raises(AppError):
        parse_money("1 234,56", "BRL", language="en")


def test_the_language_decides_the_decimal_separator():
    # given the same text read in two languages
    # then the pt-BR reader sees a thousands separator where English sees decimals
    assert parse_money("1.234", "BRL", language="pt-br") == 123400
    with pytest.raises(AppError) as exc:
        parse_money("1.234", "BRL", language="en")
    assert exc.value.code == "money_precision"
    # and "19.90" is not a pt-BR amount at all (the dot groups thousands there)
    with pytest.raises(AppError) as exc:
        parse_money("19.90", "BRL", language="pt-br")
    assert exc.value.code == "money_invalid"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "money_required"),
        ("   ", "money_required"),
        (None, "money_required"),
        ("R$", "money_required"),
        ("abc", "money_invalid"),
        ("19,90abc", "money_invalid"),
        ("1e5", "money_invalid"),
        ("1E5", "money_invalid"),
        ("NaN", "money_invalid"),
        ("nan", "money_invalid"),
        ("inf", "money_invalid"),
        ("Infinity", "money_invalid"),
        ("-inf", "money_invalid"),
        ("0x10", "money_invalid"),
        ("1_000", "money_invalid"),
        ("1.2.3,4", "money_invalid"),
        ("-1", "money_negative"),
        ("-0,01", "money_negative"),
        ("19,999", "money_precision"),
        ("0,001", "money_precision"),
        ("10000000000,01", "money_too_large"),
        ("99999999999999", "money_too_large"),
        # More digits than Decimal's default precision: still a refusal, not a crash.
        ("1" * 40, "money_too_large"),
        ("9" * 30 + ",99", "money_too_large"),
        ("-" + "1" * 40, "money_negative"),
    ],
)
def test_parse_money_refusals(text, code):
    # given something that is not a usable BRL amount
    # when it is parsed, then an AppError says why, with a stable code and a message
    with pytest.raises(AppError) as exc:
        parse_money(text, "BRL", language="pt-br")
    assert exc.value.code == code
    assert str(exc.value)


def test_the_invalid_message_shows_an_example_in_the_readers_format():
    with pytest.raises(AppError) as pt:
        parse_money("abc", "BRL", language="pt-br")
    with pytest.raises(AppError) as en:
        parse_money("abc", "BRL", language="en")

    assert "19,90" in str(pt.value)
    assert "19.90" in str(en.value)


def test_the_largest_amount_is_accepted():
    assert parse_money("10.000.000.000,00", "BRL", language="pt-br") == MAX_MINOR
    assert parse_money("10,000,000,000.00", "BRL", language="en") == MAX_MINOR


def test_yen_has_no_minor_unit():
    # given a currency with zero decimal places
    # then whole amounts are the minor units themselves
    assert parse_money("1990", "JPY", language="en") == 1990
    assert parse_money("1,990", "JPY", language="en") == 1990
    # and a fraction of a yen is refused
    with pytest.raises(AppError) as exc:
        parse_money("19.9", "JPY", language="en")
    assert exc.value.code == "money_precision"
    with pytest.raises(AppError) as exc:
        parse_money("19,9", "JPY", language="pt-br")
    assert exc.value.code == "money_precision"


@pytest.mark.parametrize(
    ("minor", "language", "expected"),
    [
        (1990, "pt-br", "R$\xa019,90"),
        (123456, "pt-br", "R$\xa01.234,56"),
        (1990, "en", "R$19.90"),
        (0, "en", "R$0.00"),
        # French: CLDR's own, grouped by a narrow no-break space, the symbol after.
        (123456, "fr", "1\u202f234,56\u00a0R$"),
        (1990, "fr", "19,90\u00a0R$"),
        # Spanish: reais as Brazil writes them, not CLDR-Spain's "1.234,56 BRL".
        (123456, "es", "R$\u00a01.234,56"),
        (-1990, "es", "-R$\u00a019,90"),
    ],
)
def test_format_money(minor, language, expected):
    assert format_money(minor, "BRL", language=language) == expected


def test_format_money_without_symbol_and_input_money():
    assert format_money(123456, "BRL", language="pt-br", symbol=False) == "1.234,56"
    assert format_money(1990, "JPY", language="en", symbol=False) == "1,990"
    # what a form shows back has no symbol and no grouping
    assert input_money(123456, "BRL", language="pt-br") == "1234,56"
    assert input_money(123456, "BRL", language="en") == "1234.56"
    assert input_money(1990, "JPY", language="pt-br") == "1990"
    assert input_money(None, "BRL") == ""
    assert format_money(123456, "BRL", language="fr", symbol=False) == "1\u202f234,56"
    assert format_money(123456, "BRL", language="es", symbol=False) == "1.234,56"
    assert input_money(123456, "BRL", language="fr") == "1234,56"
    assert input_money(123456, "BRL", language="es") == "1234,56"


def test_spanish_takes_brazils_symbols_for_other_currencies_too():
    assert format_money(123456, "USD", language="es") == "US$\u00a01.234,56"
    assert format_money(1990, "JPY", language="es") == "JP¥\u00a01.990"


LANGUAGES = st.sampled_from(["pt-br", "en", "fr", "es"])
AMOUNTS = st.integers(min_value=0, max_value=MAX_MINOR)


@settings(max_examples=200, deadline=None)
@given(minor=AMOUNTS, language=LANGUAGES, currency=st.sampled_from(["BRL", "USD", "JPY"]))
def test_what_a_form_shows_parses_back_to_the_same_amount(minor, language, currency):
    # given any amount, written back into a form in the user's language
    text = input_money(minor, currency, language=language)

    # when it is submitted unchanged
    parsed = parse_money(text, currency, language=language)

    # then it is the same number of minor units, an int
    assert parsed == minor
    assert type(parsed) is int


@settings(max_examples=200, deadline=None)
@given(minor=AMOUNTS, language=LANGUAGES, symbol=st.booleans())
def test_format_money_never_raises_and_its_output_parses_back(minor, language, symbol):
    # given any amount, formatted for display (grouped, maybe with R$)
    text = format_money(minor, "BRL", language=language, symbol=symbol)

    # then it is text, and a user pasting it back gets the same amount
    assert isinstance(text, str)
    assert parse_money(text, "BRL", language=language) == minor


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30), language=LANGUAGES)
def test_parse_money_returns_an_int_or_refuses(text, language):
    # given anything at all
    try:
        minor = parse_money(text, "BRL", language=language)
    except AppError:
        return
    # then a result is a whole, in-range number of centavos, never a float
    assert type(minor) is int
    assert 0 <= minor <= MAX_MINOR


# Digits people do not type on a Brazilian or English keyboard: Python's ``\d`` and
# ``Decimal()`` take the first two as 123, so a form would have charged R$ 123,00.
NON_ASCII_DIGITS = ["١٢٣", "۱۲۳", "１２３", "¹²³", "12٫50", "1２3", "١٢٣,٤٥"]


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
@pytest.mark.parametrize("language", ["pt-br", "en", "fr", "es"])
def test_only_ascii_digits_are_an_amount(text, language):
    # given an amount written with Arabic-Indic, Persian, full-width or superscript digits
    # when it is parsed
    with pytest.raises(AppError) as exc:
        parse_money(text, "BRL", language=language)

    # then it is refused with the usual clear message
    assert exc.value.code == "money_invalid"
    assert "Enter the amount as a number" in str(exc.value.message)
