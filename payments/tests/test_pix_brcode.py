"""BR Codes: the generator and the parser against the published examples, round
trips, accents, truncation and hostile input."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.pix import brcode
from payments.pix.brcode import BRCodeError, build_dynamic, build_static, crc16, parse

# Bacen, "Manual de Padrões para Iniciação do Pix": the static example (random key).
MANUAL_STATIC = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
# The same key with an amount of 1.00, as published by other implementations (GUI in
# upper case, which the standard allows).
STATIC_WITH_AMOUNT = (
    "00020126580014BR.GOV.BCB.PIX0136123e4567-e12b-12d1-a456-426655440000"
    "52040000530398654041.005802BR5913Fulano de Tal6008BRASILIA62070503***630451B8"
)
# The manual's dynamic example (section 6.2): a location instead of a key.
MANUAL_DYNAMIC = (
    "00020101021226770014BR.GOV.BCB.PIX2555pix.example.com/qr/93598be0-1bd0-4997-8318-"
    "81776a1d8a995204000053039865802BR5907EMPRESA6009SAO PAULO62070503***6304EEAB"
)
# A published decoder test case: amount 73.62, description, txid "oooo", and a name of
# 26 characters (one too many).
LONG_NAME = (
    "00020126830014br.gov.bcb.pix01364004901d-bd85-4769-8e52-cb4c42c506dc0221Jornada "
    "pagador 57768520400005303986540573.625802BR5926BANCOCENTRALDOBRASIL0003816008"
    "BRASILIA62080504oooo6304EFF5"
)
KEY = "123e4567-e12b-12d1-a456-426655440000"


def with_crc(body: str) -> str:
    return body + "6304" + crc16(body + "6304")


def test_crc_vector():
    assert crc16("123456789") == "29B1"
    assert crc16(b"123456789") == "29B1"


def test_generator_reproduces_the_manual_static_example():
    assert build_static(key=KEY, amount=None, name="Fulano de Tal", city="BRASILIA") == (
        MANUAL_STATIC
    )


def test_parser_reads_the_manual_examples():
    static = parse(MANUAL_STATIC)
    assert (static.key, static.amount, static.name, static.city, static.txid) == (
        KEY,
        None,
        "Fulano de Tal",
        "BRASILIA",
        "***",
    )
    assert not static.dynamic and static.location == ""

    with_amount = parse(STATIC_WITH_AMOUNT)
    assert with_amount.amount == 100 and with_amount.key == KEY

    dynamic = parse(MANUAL_DYNAMIC)
    assert dynamic.dynamic and dynamic.key == ""
    assert dynamic.location == "pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99"
    assert (dynamic.name, dynamic.city, dynamic.amount) == ("EMPRESA", "SAO PAULO", None)


def test_generator_reproduces_the_manual_dynamic_example():
    code = build_dynamic(
        location="https://pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99",
        name="EMPRESA",
        city="SAO PAULO",
    )
    # The manual prints the GUI in upper case; we write it in lower case (both valid).
    assert with_crc(code[:-8].replace(brcode.GUI, brcode.GUI.upper())) == MANUAL_DYNAMIC
    assert parse(code).location.startswith("pix.example.com/qr/")


def test_amount_and_txid_fields():
    code = build_static(key=KEY, amount=123456, name="Fulano", city="Recife", txid="ORDER42")
    assert "54071234.56" in code and "62110507ORDER42" in code
    assert parse(code).amount == 123456 and parse(code).txid == "ORDER42"
    assert "5404" + "0.05" in build_static(key=KEY, amount=5, name="A", city="B")


def test_accents_removed_and_truncated():
    code = build_static(
        key="+5511999998888",
        amount=4500,
        name="Confeitaria São João da Esquina Ltda",
        city="São José dos Campos",
        description="Pedido nº 7 — ótimo",
    )
    parsed = parse(code)
    assert parsed.name == "Confeitaria Sao Joao da E"  # 25
    assert parsed.city == "Sao Jose dos Ca"  # 15
    assert parsed.description == "Pedido no 7 otimo"
    assert code.isascii()


def test_published_code_with_a_26_character_name_is_refused():
    with pytest.raises(BRCodeError) as error:
        parse(LONG_NAME)
    assert error.value.code == "brcode_invalid"
    fixed = with_crc(LONG_NAME[:-8].replace("5926BANCOCENTRALDOBRASIL000381", "5903BCB"))
    assert parse(fixed).amount == 7362 and parse(fixed).txid == "oooo"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"txid": "with space"},
        {"txid": "a" * 26},
        {"txid": ""},
        {"key": ""},
        {"key": "k" * 78},
        {"name": "   "},
        {"city": "🙂"},
        {"amount": 0},
        {"amount": -1},
    ],
)
def test_generator_refuses_bad_input(kwargs):
    arguments = {"key": KEY, "amount": 100, "name": "Ana", "city": "Recife"} | kwargs
    with pytest.raises(BRCodeError):
        build_static(**arguments)


@pytest.mark.parametrize(
    "code, message",
    [
        ("", "checksum"),
        ("hello", "checksum"),
        (MANUAL_STATIC[:-1] + "E", "checksum does not match"),
        (MANUAL_STATIC.replace("Fulano", "Fulana"), "checksum does not match"),
        ("0" * 10_000, "too long"),
        (MANUAL_STATIC + "😀", "characters"),
        (with_crc("000201"), "misses its field 26"),
        (with_crc(MANUAL_STATIC[:-8].replace("5303986", "5303840")), "reais"),
        (with_crc(MANUAL_STATIC[:-8].replace("bcb.pix", "bcb.xyz")), "not a Pix"),
        (with_crc(MANUAL_STATIC[:-8].replace("000201", "000202")), "format version"),
        (with_crc(MANUAL_STATIC[:-8] + "5999"), "cut short"),
        (with_crc(MANUAL_STATIC[:-8] + "52040000"), "twice"),
        (with_crc(MANUAL_STATIC[:-8] + "5X"), "no valid length"),
        (with_crc(MANUAL_STATIC[:-8].replace("5802BR", "5802BR54041,00")), "amount"),
        (with_crc(MANUAL_STATIC[:-8].replace("5802BR", "5802BR54040.00")), "positive"),
    ],
)
def test_parser_refuses_hostile_input(code, message):
    with pytest.raises(BRCodeError) as error:
        parse(code)
    assert error.value.code == "brcode_invalid"
    assert message in str(error.value)


def test_parser_refuses_non_strings():
    with pytest.raises(BRCodeError):
        parse(None)  # type: ignore[arg-type]


@given(garbage=st.text(max_size=600))
def test_parser_never_crashes_on_garbage(garbage):
    with contextlib.suppress(BRCodeError):
        parse(garbage)


@given(garbage=st.text(alphabet="0123456789ABCbr.*", max_size=200))
def test_parser_never_crashes_on_garbage_with_a_valid_crc(garbage):
    with contextlib.suppress(BRCodeError):
        parse(with_crc(garbage))


keys = st.one_of(
    st.uuids().map(str),
    st.from_regex(r"\+55[1-9]{2}9[0-9]{8}", fullmatch=True),
    st.from_regex(r"[a-z]{1,20}@[a-z]{1,20}\.com\.br", fullmatch=True),
    st.from_regex(r"[0-9]{11}", fullmatch=True),
)


@given(
    key=keys,
    amount=st.one_of(st.none(), st.integers(min_value=1, max_value=99_999_999_99)),
    name=st.text(min_size=1, max_size=60).filter(lambda t: brcode.clean_text(t, 25)),
    city=st.text(min_size=1, max_size=40).filter(lambda t: brcode.clean_text(t, 15)),
    txid=st.one_of(st.just("***"), st.from_regex(r"[A-Za-z0-9]{1,25}", fullmatch=True)),
    description=st.text(max_size=80),
)
def test_static_round_trip(key, amount, name, city, txid, description):
    code = build_static(
        key=key, amount=amount, name=name, city=city, txid=txid, description=description
    )
    parsed = parse(code)
    assert (parsed.key, parsed.amount, parsed.txid) == (key, amount, txid)
    assert parsed.name == brcode.clean_text(name, 25)
    assert parsed.city == brcode.clean_text(city, 15)
    assert len(code) <= brcode.MAX_LENGTH and not parsed.dynamic


@given(
    path=st.from_regex(r"[a-z0-9/-]{1,50}", fullmatch=True),
    amount=st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
)
def test_dynamic_round_trip(path, amount):
    location = f"https://psp.example.com/{path}"
    code = build_dynamic(location=location, name="Loja", city="Rio", amount=amount)
    parsed = parse(code)
    assert parsed.dynamic and parsed.location == f"psp.example.com/{path}"
    assert parsed.amount == amount and parsed.txid == "***"


def test_amount_helpers_use_no_floats():
    assert brcode.format_amount(1) == "0.01"
    assert brcode.format_amount(1999) == "19.99"
    assert brcode.parse_amount("19.9") == 1990
    assert brcode.parse_amount("7") == 700
    for bad in ("1e3", "0.001", "-1.00", " 1.00", "1.00\n", "１.00"):
        with pytest.raises(BRCodeError):
            brcode.parse_amount(bad)
