"""The Bacen Pix API adapter against recorded request/answer shapes of the Bacen
OpenAPI (github.com/bacen/pix-api, openapi.yaml 2.9.0: cobResponse1/2, pixResponse1/2,
getPix1, devolucaoResponse1, pixWebhook1/2, the Problem answers); HTTP mocked with
respx, nothing else."""

import datetime as dt
import json

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from core.errors import AppError
from payments.pix import bacen, brcode, get_pix_provider
from payments.pix.bacen import BacenPixProvider
from payments.pix.base import ChargeStatus, RefundStatus

API = "https://pix-h.psp.example/v2"
TOKEN_URL = "https://oauth-h.psp.example/oauth/token"
PIX_KEY = "7d9f0335-8dcc-4054-9bf9-0dbd61d36906"
TXID = "7978c0c97ea847e78e8849634473c1f1"
SECRET = "s3cr3t-callback-token-0123456789abcdef"
E2E = "E12345678202009091221abcdef12345"

COB_RESPONSE = {  # cobResponse1, plus the pixCopiaECola of CobBaseCopiaCola
    "calendario": {"criacao": "2020-09-09T20:15:00.358Z", "expiracao": 3600},
    "txid": TXID,
    "revisao": 0,
    "loc": {
        "id": 789,
        "location": "pix.example.com/qr/9d36b84fc70b478fb95c12729b90ca25",
        "tipoCob": "cob",
    },
    "location": "pix.example.com/qr/9d36b84fc70b478fb95c12729b90ca25",
    "status": "ATIVA",
    "valor": {"original": "37.00", "modalidadeAlteracao": 0},
    "chave": PIX_KEY,
    "solicitacaoPagador": "Serviço realizado.",
}
PIX_1 = {  # pixResponse1
    "endToEndId": E2E,
    "txid": "cd1fe328c875481285a6f233ae41b662",
    "valor": "100.00",
    "horario": "2020-09-10T13:03:33.902Z",
    "infoPagador": "Reforma da casa",
    "devolucoes": [
        {
            "id": "000AAA111",
            "rtrId": "D12345678202009091000abcde123456",
            "valor": "11.00",
            "horario": {"solicitacao": "2020-09-10T13:03:33.902Z"},
            "status": "EM_PROCESSAMENTO",
        }
    ],
}
PIX_2 = {  # pixResponse2
    "endToEndId": "E12345678202009091221ghijk78901234",
    "txid": "5b933948f3224266b1050ac54319e775",
    "valor": "200.00",
    "horario": "2020-09-10T13:03:33.902Z",
    "infoPagador": "Revisão do carro",
}
WEBHOOK = {  # WebhookPixBody with pixWebhook1 (devolucoes as one object) and pixWebhook2
    "pix": [
        {
            "endToEndId": "E12345678202009091221kkkkkkkkkkk",
            "txid": "c3e0e7a4e7f1469a9f782d3d4999343c",
            "valor": "110.00",
            "horario": "2020-09-09T20:15:00.358Z",
            "infoPagador": "0123456789",
            "devolucoes": {
                "id": "123ABC",
                "rtrId": "D12345678202009091221abcdf098765",
                "valor": "10.00",
                "horario": {"solicitacao": "2020-09-09T20:15:00.358Z"},
                "status": "EM_PROCESSAMENTO",
            },
        },
        {
            "endToEndId": "E87654321202009091221dfghi123456",
            "txid": "971122d8f37211eaadc10242ac120002",
            "valor": "110.00",
            "horario": "2020-09-09T20:15:00.358Z",
            "infoPagador": "0123456789",
        },
    ]
}
PROBLEM_400 = {  # RequisicaoInvalidaCobExample1
    "type": "https://pix.bcb.gov.br/api/v2/error/CobOperacaoInvalida",
    "title": "Cobrança inválida.",
    "status": 400,
    "detail": "A requisição que busca alterar ou criar uma cobrança para pagamento imediato "
    "não respeita o _schema_ ou está semanticamente errada.",
}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A client certificate and key, as a PSP issues them (self-signed here)."""
    folder = tmp_path_factory.mktemp("mtls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conversa-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "client.crt", folder / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(autouse=True)
def fresh_tokens():
    bacen._tokens.clear()
    yield
    bacen._tokens.clear()


@pytest.fixture
def provider(certificate):
    return BacenPixProvider(
        api_url=API + "/",
        token_url=TOKEN_URL,
        client_id="client-id",
        client_secret="client-secret",
        cert=certificate[0],
        key=certificate[1],
        pix_key=PIX_KEY,
        callback_secret=SECRET,
        city="Recife",
    )


@pytest.fixture
def psp():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.token = router.post(TOKEN_URL).mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={
                        "access_token": f"token-{n}",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "cob.write cob.read pix.write pix.read",
                    },
                )
                for n in range(1, 6)
            ]
        )
        yield router


def test_mtls_context_loads_the_certificate_and_is_used_for_every_call(certificate, monkeypatch):
    loaded = []
    real = bacen.mtls_context

    def spy(cert, key):
        loaded.append((cert, key))
        return real(cert, key)

    monkeypatch.setattr(bacen, "mtls_context", spy)
    BacenPixProvider(
        api_url=API,
        token_url=TOKEN_URL,
        client_id="id",
        client_secret="secret",
        cert=certificate[0],
        key=certificate[1],
        pix_key=PIX_KEY,
        callback_secret=SECRET,
    )
    assert loaded == [certificate]


def test_a_missing_certificate_is_a_configuration_error(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="PIX_BACEN_CERT"):
        bacen.mtls_context(str(tmp_path / "nope.crt"), str(tmp_path / "nope.key"))


def test_missing_settings_are_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="PIX_KEY"):
        BacenPixProvider(
            api_url=API,
            token_url=TOKEN_URL,
            client_id="id",
            client_secret="secret",
            cert="",
            key="",
            pix_key="",
            callback_secret="",
        )


def test_get_pix_provider_builds_the_adapter_from_settings(settings, certificate):
    settings.PIX_PROVIDER = "bacen"
    settings.PIX_BACEN_API_URL = API
    settings.PIX_BACEN_TOKEN_URL = TOKEN_URL
    settings.PIX_BACEN_CLIENT_ID = "id"
    settings.PIX_BACEN_CLIENT_SECRET = "secret"
    settings.PIX_BACEN_CERT, settings.PIX_BACEN_KEY = certificate
    settings.PIX_KEY = PIX_KEY
    settings.PIX_CALLBACK_SECRET = SECRET
    pix = get_pix_provider()
    assert isinstance(pix, BacenPixProvider) and pix.api_url == API and pix.name == "bacen"
    assert get_pix_provider() is pix  # one per process: the certificate is read once
    settings.PIX_KEY = "another-key"
    assert get_pix_provider() is not pix and get_pix_provider().pix_key == "another-key"
    with pytest.raises(ImproperlyConfigured):
        get_pix_provider("nonsense")


def test_create_charge_sends_the_cob_and_reads_the_answer(provider, psp):
    answer = COB_RESPONSE | {"pixCopiaECola": "0002012633...6304ABCD"}
    route = psp.put(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(201, json=answer))

    charge = provider.create_charge(
        txid=TXID, amount=3700, expires_in=3600, payee_name="Conversa", description="Pedido 7"
    )

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer token-1"
    assert json.loads(request.content) == {
        "calendario": {"expiracao": 3600},
        "valor": {"original": "37.00"},
        "chave": PIX_KEY,
        "solicitacaoPagador": "Pedido 7",
    }
    token_request = psp.token.calls.last.request
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert token_request.content == b"grant_type=client_credentials"
    assert charge.txid == TXID and charge.amount == 3700 and charge.expires_in == 3600
    assert charge.status == ChargeStatus.ACTIVE
    assert charge.created_at == dt.datetime(2020, 9, 9, 20, 15, 0, 358000, tzinfo=dt.UTC)
    assert charge.copy_paste == answer["pixCopiaECola"]
    assert charge.location == "pix.example.com/qr/9d36b84fc70b478fb95c12729b90ca25"


def test_without_a_copy_paste_the_dynamic_br_code_is_built_from_the_location(provider, psp):
    psp.put(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(201, json=COB_RESPONSE))
    charge = provider.create_charge(
        txid=TXID, amount=3700, expires_in=3600, payee_name="Conversa Pagamentos", description=""
    )
    parsed = brcode.parse(charge.copy_paste)
    assert parsed.dynamic and parsed.location == COB_RESPONSE["location"]
    assert (parsed.name, parsed.city) == ("Conversa Pagamentos", "Recife")


def test_the_token_is_reused_until_it_nearly_expires(provider, psp, monkeypatch):
    psp.get(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(200, json=COB_RESPONSE))
    provider.get_charge(TXID)
    provider.get_charge(TXID)
    assert psp.token.call_count == 1

    clock = bacen.time.monotonic()
    monkeypatch.setattr(bacen.time, "monotonic", lambda: clock + 3600 - 30)
    provider.get_charge(TXID)
    assert psp.token.call_count == 2


def test_a_401_renews_the_token_once_and_retries(provider, psp):
    route = psp.get(f"{API}/cob/{TXID}").mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json=COB_RESPONSE)]
    )
    assert provider.get_charge(TXID).txid == TXID
    assert psp.token.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_a_401_after_renewal_is_unavailable_not_a_loop(provider, psp):
    route = psp.get(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(401))
    with pytest.raises(AppError) as error:
        provider.get_charge(TXID)
    assert error.value.code == "pix_unavailable" and error.value.status_code == 503
    assert route.call_count == 2


def test_a_refused_token_request_is_unavailable(provider):
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(return_value=httpx.Response(401, json={"error": "x"}))
        with pytest.raises(AppError) as error:
            provider.get_charge(TXID)
    assert error.value.code == "pix_unavailable"


@pytest.mark.parametrize(
    "answer, code",
    [
        (httpx.Response(404, json={"title": "Não encontrado"}), "pix_not_found"),
        (httpx.Response(503), "pix_unavailable"),
        (httpx.Response(500, text="boom"), "pix_unavailable"),
        (httpx.Response(403, json={"title": "Acesso negado"}), "pix_unavailable"),
        (httpx.Response(200, text="<html>"), "pix_malformed"),
        (httpx.Response(200, json=["not", "an", "object"]), "pix_malformed"),
        (httpx.Response(200, json=COB_RESPONSE | {"status": "PAGA"}), "pix_malformed"),
        (
            httpx.Response(200, json=COB_RESPONSE | {"valor": {"original": 37.0}}),
            "pix_malformed",
        ),
        (httpx.ConnectTimeout("slow"), "pix_unavailable"),
        (httpx.ReadTimeout("slow"), "pix_unavailable"),
        (httpx.ConnectError("down"), "pix_unavailable"),
    ],
)
def test_errors_are_mapped(provider, psp, answer, code):
    route = psp.get(f"{API}/cob/{TXID}")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(AppError) as error:
        provider.get_charge(TXID)
    assert error.value.code == code


def test_a_retried_create_returns_the_existing_charge(provider, psp):
    psp.put(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(400, json=PROBLEM_400))
    psp.get(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(200, json=COB_RESPONSE))
    charge = provider.create_charge(
        txid=TXID, amount=3700, expires_in=3600, payee_name="C", description=""
    )
    assert charge.amount == 3700
    with pytest.raises(AppError) as error:
        provider.create_charge(
            txid=TXID, amount=3800, expires_in=3600, payee_name="C", description=""
        )
    assert error.value.code == "pix_refused"


def test_a_refused_create_of_an_unknown_txid_is_refused(provider, psp):
    psp.put(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(400, json=PROBLEM_400))
    psp.get(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(404, json={}))
    with pytest.raises(AppError) as error:
        provider.create_charge(
            txid=TXID, amount=3700, expires_in=3600, payee_name="C", description=""
        )
    assert error.value.code == "pix_refused" and error.value.status_code == 502


def test_cancel_charge_patches_the_status(provider, psp):
    removed = COB_RESPONSE | {"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR", "revisao": 1}
    route = psp.patch(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(200, json=removed))
    assert provider.cancel_charge(TXID).status == ChargeStatus.REMOVED_BY_RECEIVER
    assert json.loads(route.calls.last.request.content) == {
        "status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"
    }


def test_cancelling_a_paid_charge_returns_it_as_it_is(provider, psp):
    paid = COB_RESPONSE | {"status": "CONCLUIDA", "pix": [PIX_1]}
    psp.patch(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(400, json=PROBLEM_400))
    psp.get(f"{API}/cob/{TXID}").mock(return_value=httpx.Response(200, json=paid))
    assert provider.cancel_charge(TXID).status == ChargeStatus.COMPLETED


def test_list_received_walks_every_page(provider, psp):
    start = dt.datetime(2020, 9, 10, tzinfo=dt.UTC)
    end = dt.datetime(2020, 9, 11, tzinfo=dt.UTC)
    late = PIX_2 | {"endToEndId": "E1", "horario": "2020-09-11T00:00:00Z"}

    def page(request):
        number = int(request.url.params["paginacao.paginaAtual"])
        items = [[PIX_1], [PIX_2, late]][number]
        return httpx.Response(
            200,
            json={
                "parametros": {
                    "inicio": "2020-09-10T00:00:00Z",
                    "fim": "2020-09-11T00:00:00Z",
                    "paginacao": {
                        "paginaAtual": number,
                        "itensPorPagina": 100,
                        "quantidadeDePaginas": 2,
                        "quantidadeTotalDeItens": 3,
                    },
                },
                "pix": items,
            },
        )

    route = psp.get(f"{API}/pix").mock(side_effect=page)
    received = provider.list_received(start=start, end=end)

    assert [dict(c.request.url.params) for c in route.calls] == [
        {
            "inicio": "2020-09-10T00:00:00Z",
            "fim": "2020-09-11T00:00:00Z",
            "paginacao.paginaAtual": str(n),
            "paginacao.itensPorPagina": "100",
        }
        for n in (0, 1)
    ]
    assert [p.end_to_end_id for p in received] == [E2E, PIX_2["endToEndId"]]  # [start, end)
    first = received[0]
    assert (first.amount, first.txid, first.payer_name) == (10000, PIX_1["txid"], "Reforma da casa")
    assert first.refunds[0].amount == 1100
    assert first.refunds[0].status == RefundStatus.PROCESSING
    assert psp.token.call_count == 1


def test_refund_puts_the_devolucao(provider, psp):
    route = psp.put(f"{API}/pix/{E2E}/devolucao/123456").mock(
        return_value=httpx.Response(
            201,
            json={  # devolucaoResponse1
                "id": "123456",
                "rtrId": "D12345678202009091000abcde123456",
                "valor": "7.89",
                "horario": {"solicitacao": "2020-09-11T15:25:59.411Z"},
                "status": "EM_PROCESSAMENTO",
            },
        )
    )
    refund = provider.refund(end_to_end_id=E2E, refund_id="123456", amount=789)
    assert json.loads(route.calls.last.request.content) == {"valor": "7.89"}
    assert (refund.refund_id, refund.amount, refund.status, refund.rtr_id) == (
        "123456",
        789,
        RefundStatus.PROCESSING,
        "D12345678202009091000abcde123456",
    )
    assert refund.end_to_end_id == E2E


def test_register_webhook_puts_the_secret_url(provider, psp):
    route = psp.put(f"{API}/webhook/{PIX_KEY}").mock(return_value=httpx.Response(200))
    url = provider.register_webhook("https://conversa.example/payments/pix/callback/bacen/")
    assert url == f"https://conversa.example/payments/pix/callback/bacen/{SECRET}"
    assert json.loads(route.calls.last.request.content) == {"webhookUrl": url}


def test_parse_callback_reads_every_item(provider):
    body = json.dumps(WEBHOOK).encode()
    received = provider.parse_callback(body=body, headers={"x-pix-callback-token": SECRET})
    assert [p.end_to_end_id for p in received] == [
        "E12345678202009091221kkkkkkkkkkk",
        "E87654321202009091221dfghi123456",
    ]
    assert received[0].amount == 11000 and received[0].refunds[0].refund_id == "123ABC"
    assert received[1].paid_at.tzinfo is not None


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Pix-Callback-Token": ""}, {"X-Pix-Callback-Token": SECRET + "x"}],
)
def test_an_unauthenticated_callback_is_refused(provider, headers):
    with pytest.raises(AppError) as error:
        provider.parse_callback(body=json.dumps(WEBHOOK).encode(), headers=headers)
    assert error.value.status_code == 401
    assert error.value.code == "pix_callback_unauthenticated"


def test_without_a_secret_every_callback_is_refused(provider):
    provider.callback_secret = ""
    with pytest.raises(AppError) as error:
        provider.parse_callback(body=b"{}", headers={"X-Pix-Callback-Token": ""})
    assert error.value.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"pix": {}}',
        json.dumps({"pix": [{"endToEndId": "E1"}]}).encode(),
        json.dumps({"pix": [WEBHOOK["pix"][1] | {"valor": 110.0}]}).encode(),
        json.dumps({"pix": [WEBHOOK["pix"][1] | {"horario": "2020-09-09T20:15:00"}]}).encode(),
        json.dumps({"pix": [WEBHOOK["pix"][1] | {"valor": "-1.00"}]}).encode(),
        json.dumps({"pix": ["E1"]}).encode(),
        b'{"pix": [' + b"1," * 600_000 + b"1]}",
    ],
)
def test_a_malformed_callback_is_refused(provider, body):
    with pytest.raises(AppError) as error:
        provider.parse_callback(body=body, headers={"X-Pix-Callback-Token": SECRET})
    assert error.value.status_code == 400 and error.value.code == "pix_callback_malformed"


@given(amount=st.integers(min_value=1, max_value=999_999_999_999))
def test_amounts_round_trip_without_floats(amount):
    assert bacen.from_api_amount(bacen.to_api_amount(amount)) == amount
