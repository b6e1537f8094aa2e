import datetime

import pytest
from django.utils import translation

from insights.models import SpendLine
from insights.services import spend
from insights.services.spend import SpendImportError, import_spend_csv
from insights.tests.factories import make_campaign

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def daily(owner, business):
    return make_campaign(owner, business, name="Summer sale", code="summer", cost_mode="daily")


def _import(owner, business, text, *, encoding="utf-8", language=None):
    data = text.encode(encoding) if isinstance(text, str) else text
    return import_spend_csv(actor=owner, business=business, data=data, language=language)


def _refused(owner, business, text, **kwargs) -> SpendImportError:
    with pytest.raises(SpendImportError) as info:
        _import(owner, business, text, **kwargs)
    assert not SpendLine.objects.exists()
    return info.value


# --- By hand ---------------------------------------------------------------------------


def test_lines_by_hand(owner, business, daily, agent):
    line = spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 1), amount=1990)
    with pytest.raises(spend.AppError) as info:
        spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 1), amount=5)
    assert info.value.code == "day_taken"
    for bad, code in (
        (-1, "money_negative"),
        (10**12 + 1, "money_too_large"),
        (1.5, "invalid_amount"),
    ):
        with pytest.raises(spend.AppError) as info:
            spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 2), amount=bad)
        assert info.value.code == code
    with pytest.raises(spend.AppError) as info:
        spend.add_spend_line(actor=agent, campaign=daily, day=D(2026, 3, 2), amount=1)
    assert info.value.status_code == 403
    spend.update_spend_line(actor=owner, line=line, day=D(2026, 3, 2), amount=100)
    assert SpendLine.objects.get().amount == 100
    spend.delete_spend_line(actor=owner, line=line)
    assert not SpendLine.objects.exists()


# --- CSV --------------------------------------------------------------------------------


def test_plain_file(owner, business, daily):
    result = _import(owner, business, "date,campaign,amount\n2026-03-01,summer,10.50\n")
    assert (result.lines, result.total) == (1, 1050)
    assert SpendLine.objects.get().source == "import"


def test_meta_export_in_portuguese_with_semicolons_bom_and_local_amounts(owner, business, daily):
    text = (
        "Início dos relatórios;Término dos relatórios;Nome da campanha;Valor usado (BRL);Alcance\n"
        "2026-03-01;2026-03-01;Summer sale;1.234,56;1000\n"
        "02/03/2026;02/03/2026;SUMMER SALE;10,00;50\n"
    )
    with translation.override("pt-br"):
        result = _import(owner, business, "\ufeff" + text)
    assert result.lines == 2
    assert list(SpendLine.objects.values_list("day", "amount")) == [
        (D(2026, 3, 1), 123456), (D(2026, 3, 2), 1000),
    ]  # fmt: skip


def test_meta_export_in_english(owner, business, daily):
    text = (
        '"Reporting starts","Reporting ends","Campaign name","Amount spent (BRL)"\n'
        '"2026-03-01","2026-03-01","Summer sale","1,234.56"\n'
    )
    _import(owner, business, text, language="en")
    assert SpendLine.objects.get().amount == 123456


def test_google_ads_export_with_title_lines_and_totals(owner, business, daily):
    text = (
        "Campaign performance report\n"
        '"March 1, 2026 - March 2, 2026"\n'
        "Day,Campaign,Currency code,Cost\n"
        "2026-03-01,Summer sale,BRL,5.00\n"
        "2026-03-01,summer,BRL,2.50\n"
        "Total: Account,,BRL,7.50\n"
    )
    result = _import(owner, business, text, language="en")
    # two lines of the same campaign and day are summed
    assert (result.lines, result.total) == (1, 750)
    assert SpendLine.objects.get().amount == 750


def test_google_in_portuguese(owner, business, daily):
    _import(owner, business, 'Dia,Campanha,Custo\n2026-03-01,summer,"7,50"\n', language="pt-br")
    assert SpendLine.objects.get().amount == 750


def test_an_imported_day_replaces_that_days_line(owner, business, daily):
    spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 1), amount=1)
    spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 2), amount=2)
    _import(owner, business, "date,campaign,amount\n2026-03-01,summer,10\n", language="en")
    assert list(SpendLine.objects.values_list("day", "amount", "source")) == [
        (D(2026, 3, 1), 1000, "import"), (D(2026, 3, 2), 2, "manual"),
    ]  # fmt: skip


def test_every_bad_line_is_listed_and_nothing_is_saved(owner, business, daily, other):
    make_campaign(owner, business, name="Flyer", code="flyer")  # one total, not daily
    make_campaign(other.owner, other.business, name="Theirs", code="theirs", cost_mode="daily")
    text = (
        "date,campaign,amount\n"
        "2026-03-01,summer,10.00\n"  # 2: good
        "2026-13-01,summer,10.00\n"  # 3: bad date
        "2026-03-01,nobody,10.00\n"  # 4: no such campaign
        "2026-03-01,summer,-5\n"  # 5: negative
        "2026-03-01,summer,=1+1\n"  # 6: formula
        "2026-03-01,@SUM(A1),1\n"  # 7: formula
        "2026-03-01,summer,1.234\n"  # 8: three decimals
        "2026-03-01,summer,99999999999\n"  # 9: absurd
        "2026-03-01,theirs,1\n"  # 10: another business's
        "2026-03-01,flyer,1\n"  # 11: total-cost campaign
        ",summer,\n"  # 12: date and amount missing
        "2026-03-01,summer,abc\n"  # 13: not a number
    )
    exc = _refused(owner, business, text, language="en")
    lines = [number for number, _reason in exc.problems]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    reasons = dict(exc.problems)
    assert "not a date" in reasons[3]
    assert "no campaign named “nobody”" in reasons[4]
    assert "negative" in reasons[5]
    assert "formula" in reasons[6] and "formula" in reasons[7]
    assert "decimal" in reasons[8]
    assert "too large" in reasons[9]
    assert "no campaign named" in reasons[10]
    assert "one total" in reasons[11]
    assert "date is missing" in reasons[12] and "amount is missing" in reasons[12]


def test_latin1_is_refused_with_a_clear_message(owner, business, daily):
    text = "data;campanha;valor\n2026-03-01;Promoção;10,00\n"
    exc = _refused(owner, business, text, encoding="latin-1")
    assert exc.code == "file_encoding" and "UTF-8" in str(exc)


def test_utf16_is_refused(owner, business, daily):
    exc = _refused(owner, business, "date,campaign,amount\n".encode("utf-16"))
    assert exc.code == "file_encoding"


def test_no_header_wrong_currency_empty_and_too_big(owner, business, daily, monkeypatch):
    assert _refused(owner, business, "a,b,c\n1,2,3\n").code == "no_header"
    text = "Day,Campaign name,Amount spent (USD)\n2026-03-01,summer,1\n"
    assert _refused(owner, business, text).code == "wrong_currency"
    assert _refused(owner, business, "").code == "file_empty"
    assert _refused(owner, business, "date,campaign,amount\n\n").code == "file_empty"
    assert _refused(owner, business, b"x" * (spend.MAX_BYTES + 1)).code == "file_too_large"
    monkeypatch.setattr(spend, "MAX_LINES", 3)
    rows = "".join(f"2026-03-0{d},summer,1\n" for d in range(1, 6))
    assert _refused(owner, business, "date,campaign,amount\n" + rows).code == "too_many_lines"


def test_an_agent_cannot_import(agent, business, daily):
    with pytest.raises(spend.AppError) as info:
        _import(agent, business, "date,campaign,amount\n2026-03-01,summer,1\n")
    assert info.value.status_code == 403
    assert not SpendLine.objects.exists()
