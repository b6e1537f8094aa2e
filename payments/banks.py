"""The main Brazilian banks and their 3-digit COMPE codes (the code a TED/DOC names
the bank by), for the payout-destination form. A static list shipped with the code:
it changes a few times a decade, and a payout to a code not on it is refused."""

BANKS: dict[str, str] = {
    "001": "Banco do Brasil",
    "004": "Banco do Nordeste",
    "021": "Banestes",
    "033": "Santander",
    "037": "Banpará",
    "041": "Banrisul",
    "070": "BRB - Banco de Brasília",
    "077": "Banco Inter",
    "104": "Caixa Econômica Federal",
    "197": "Stone",
    "208": "BTG Pactual",
    "212": "Banco Original",
    "237": "Bradesco",
    "260": "Nubank (Nu Pagamentos)",
    "290": "PagBank (PagSeguro)",
    "318": "Banco BMG",
    "323": "Mercado Pago",
    "336": "C6 Bank",
    "341": "Itaú Unibanco",
    "380": "PicPay",
    "389": "Banco Mercantil do Brasil",
    "403": "Cora",
    "422": "Banco Safra",
    "655": "Banco Votorantim (BV)",
    "745": "Citibank",
    "748": "Sicredi",
    "756": "Sicoob",
}


def bank_name(code: str) -> str:
    return BANKS.get(code, code)


def bank_choices() -> list[tuple[str, str]]:
    """``(code, "341 · Itaú Unibanco")`` pairs, by code."""
    return [(code, f"{code} · {name}") for code, name in sorted(BANKS.items())]
