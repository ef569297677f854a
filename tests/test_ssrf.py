"""REST hook targets: no loopback, private, link-local or metadata addresses, at subscribe and at delivery;
the delivery connects to the address it checked (DNS rebinding cannot move it), TLS still checks the name."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridge import events
from bridge.events import delivery, dispatch, ssrf
from bridge.store.models import HookDelivery
from tests import hook_receiver
from tests.conftest import auth

REFUSED = [
    "http://127.0.0.1/hook", "http://localhost/hook", "http://LOCALHOST./hook", "http://api.localhost/hook",
    "http://2130706433/hook", "http://017700000001/hook", "http://0x7f.0.0.1/hook", "http://127.1/hook",
    "http://[::1]/hook", "http://0.0.0.0/hook", "http://[::]/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook", "http://172.16.0.1/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook",
    "http://[fd12:3456::1]/hook", "http://[fe80::1]/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook", "http://224.0.0.1/hook", "http://240.0.0.1/hook",
    "ftp://example.com/hook", "file:///etc/passwd", "gopher://example.com/", "http://user:pw@example.com/",
    "http:///hook", "not a url",
]


class FakeDns:
    """getaddrinfo for chosen names (answers can change between calls); every other name resolves as usual."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[str]] = {}
        self.calls: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host in self.answers:
                self.calls.append(host)
                answer = self.answers[host]
                address = answer.pop(0) if len(answer) > 1 else answer[0]
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (address, port or 0, 0, 0) if family == socket.AF_INET6 else (address, port or 0)
                return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch):
    """Names that resolve as the test says."""
    return FakeDns(monkeypatch)


@pytest.fixture
def receiver():
    """A receiver on 127.0.0.1 (what an attacker would like a hook to reach)."""
    recorder, server = hook_receiver.start()
    yield recorder
    server.shutdown()


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_odd_targets_are_refused(url):
    with pytest.raises(ssrf.TargetRefused):
        ssrf.check(url)


def test_public_targets_pass_and_are_pinned_to_the_address_checked(dns):
    dns.answers["hooks.example.com"] = ["93.184.216.34"]
    target = ssrf.check("https://Hooks.Example.com/zap/1?x=2")
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 443, "/zap/1?x=2", "93.184.216.34")
    assert target.host_header == "hooks.example.com"
    assert ssrf.check("http://93.184.216.34:8080/").host_header == "93.184.216.34:8080"


def test_a_name_with_any_private_answer_is_refused(dns):
    dns.answers["mixed.example.com"] = ["10.0.0.7"]
    with pytest.raises(ssrf.TargetRefused, match="10.0.0.7"):
        ssrf.check("https://mixed.example.com/")


def test_allow_private_targets_lets_loopback_through_but_never_metadata():
    assert ssrf.check("http://127.0.0.1:9/", allow_private=True).address == "127.0.0.1"
    assert ssrf.check("http://10.0.0.1/", allow_private=True).address == "10.0.0.1"
    for url in ("http://169.254.169.254/", "http://0.0.0.0/", "http://[::ffff:169.254.169.254]/"):
        with pytest.raises(ssrf.TargetRefused):
            ssrf.check(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://2130706433/",
                                 "http://[::1]/hook", "http://0.0.0.0/", "http://169.254.169.254/latest",
                                 "http://10.0.0.5/hook"])
def test_subscribe_refuses_internal_targets_naming_target_url(client, api_key, url):
    response = client.post("/v1/hooks", json={"target_url": url, "event": "invoice.paid"}, headers=auth(api_key))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "target_url"
    assert client.get("/v1/hooks", headers=auth(api_key)).get_json()["data"] == []


def test_subscribe_refuses_a_name_that_resolves_to_loopback(client, api_key, dns):
    dns.answers["sneaky.example.com"] = ["127.0.0.1"]
    response = client.post("/v1/hooks", json={"target_url": "https://sneaky.example.com/h", "event": "invoice.paid"},
                           headers=auth(api_key))
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["field"] == "target_url" and "127.0.0.1" in error["message"]


def test_dns_that_turns_to_loopback_after_subscribe_is_refused_at_delivery(app, client, api_key, dns, receiver):
    host = "rebind.example.com"
    dns.answers[host] = ["93.184.216.34"]
    created = client.post("/v1/hooks", json={"target_url": f"http://{host}:{receiver.port}/hook",
                                             "event": "invoice.paid"}, headers=auth(api_key))
    assert created.status_code == 201
    dns.answers[host] = ["127.0.0.1"]  # the attacker's DNS now points at the bridge's own machine
    account = client.get("/v1/me", headers=auth(api_key)).get_json()["account_id"]
    events.publish(app, account_id=account, event="invoice.paid", data={"external_id": "inv-1"})
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        delivery_id = db.execute(sa.select(HookDelivery.id)).scalar_one()
    with app.app_context():
        assert delivery.deliver(app, delivery_id) == "retrying"
    assert receiver.requests == []
    hook = client.get(f"/v1/hooks/{created.get_json()['id']}", headers=auth(api_key)).get_json()
    assert hook["last_error"].startswith("refused") and "loopback" in hook["last_error"]


def test_delivery_resolves_once_and_connects_to_that_address(make_app, dns, receiver):
    app = make_app(ALLOW_PRIVATE_TARGETS=True)
    host = "pinned.example.com"
    # first answer is checked and used; any later lookup would be sent to a black hole
    dns.answers[host] = ["127.0.0.1", "192.0.2.1"]
    status = delivery.send(app, f"http://{host}:{receiver.port}/pinned", b"{}", {"Content-Type": "application/json"})
    assert status == 200
    assert dns.calls == [host]
    got = receiver.at("/pinned")[0]
    assert got.headers["host"] == f"{host}:{receiver.port}"


def test_redirects_are_not_followed(make_app, receiver):
    app = make_app(ALLOW_PRIVATE_TARGETS=True)
    receiver.answers["/moved"] = [302]
    with pytest.raises(delivery.Failure, match="HTTP 302"):
        delivery.send(app, receiver.url("/moved"), b"{}", {})
    assert len(receiver.requests) == 1


def _tls_files(tmp_path, name: str):
    """A CA and a server certificate for `name`, signed by it: (ca file, server context)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hook test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return str(ca_file), context


def test_https_delivery_to_the_pinned_address_still_verifies_the_name(make_app, dns, tmp_path):
    ca_file, context = _tls_files(tmp_path, "secure.example.com")
    seen_names = []
    context.sni_callback = lambda sock, server_name, ctx: seen_names.append(server_name)
    tls_receiver, server = hook_receiver.start(ssl_context=context)
    try:
        app = make_app(ALLOW_PRIVATE_TARGETS=True, HOOK_CA_BUNDLE=ca_file)
        dns.answers["secure.example.com"] = ["127.0.0.1"]
        dns.answers["impostor.example.com"] = ["127.0.0.1"]
        url = f"https://secure.example.com:{tls_receiver.port}/tls"
        assert delivery.send(app, url, b"{}", {"Content-Type": "application/json"}) == 200
        assert seen_names[-1] == "secure.example.com"
        assert tls_receiver.at("/tls")[0].headers["host"] == f"secure.example.com:{tls_receiver.port}"
        # the same address under another name: the certificate does not match, nothing is sent
        with pytest.raises(delivery.Failure, match="TLS"):
            delivery.send(app, f"https://impostor.example.com:{tls_receiver.port}/tls", b"{}", {})
        assert len(tls_receiver.at("/tls")) == 1
    finally:
        server.shutdown()


def test_refusal_reasons_cover_embedded_ipv4():
    assert ssrf.refusal(ipaddress.ip_address("::ffff:10.0.0.1")) == "a private address"
    assert ssrf.refusal(ipaddress.ip_address("2002:a9fe:a9fe::1")) is not None  # 6to4 of 169.254.169.254
    assert ssrf.refusal(ipaddress.ip_address("64:ff9b::7f00:1")) is not None  # NAT64 of 127.0.0.1
    assert ssrf.refusal(ipaddress.ip_address("8.8.8.8")) is None
    assert ssrf.refusal(ipaddress.ip_address("2606:4700:4700::1111")) is None
