"""A webhook receiver on this machine for tests: a real HTTP(S) server on a loopback address that records every
request and answers as the test says (a status, a redirect, a large body, or never), a test CA whose certificates
let TLS be checked for a name while the server listens on 127.0.0.1, and the Standard Webhooks signature check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# How a receiver answers: given the handler (after the request was recorded), it writes the response.
Answer = Callable[[BaseHTTPRequestHandler], None]

# The test certificates' validity, fixed and wide: OpenSSL checks it against the machine's real clock, which is not
# the clock a test run may shift (make test-shifted moves Python's), so it must not be derived from "now".
VALID_FROM = datetime(2000, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI of each TLS handshake
    released: threading.Event = field(default_factory=threading.Event)  # set at the end: hanging answers return

    def url(self, path: str = "/hooks", *, scheme: str = "http", name: str | None = None) -> str:
        host = name or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{host}:{self.port}{path}"


def answer_status(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def answer_never(handler: BaseHTTPRequestHandler) -> None:
    """Read the request, then say nothing until the receiver is stopped."""
    handler.server.receiver.released.wait(30)  # type: ignore[attr-defined]


def answer_dripping(handler: BaseHTTPRequestHandler) -> None:
    """A status line, then one header byte every 50 ms for up to 30 s: no single read ever waits long."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(600):
        if handler.server.receiver.released.wait(0.05):  # type: ignore[attr-defined]
            return
        try:
            handler.wfile.write(b"a")
            handler.wfile.flush()
        except OSError:
            return


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks reference check, written here apart from doti's: HMAC-SHA256 of
    "{id}.{timestamp}.{body}" under the base64 key after "whsec_", compared with each "v1," signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in versions)


@contextmanager
def running_receiver(
    answer: Answer | None = None, *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    """A receiver on `host` and `port` (a free one unless told) for the duration of the block (204 to everything
    unless told)."""
    respond = answer or answer_status(204)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.received.append(Received(self.path, headers, body))
            self.close_connection = True
            respond(self)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, port), Handler)
    server.daemon_threads = True
    receiver = Receiver(host, server.server_address[1])
    server.receiver = receiver  # type: ignore[attr-defined]
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class LocalCA:
    """A CA made for the test run, and where its PEM lives; `server_context(name)` serves a certificate for name."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    directory: Path

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def client_context(self) -> ssl.SSLContext:
        """What a sender that trusts this CA (and only it) uses: hostname checking on, as in production."""
        return ssl.create_default_context(cadata=self.pem)

    def server_context(self, name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(VALID_FROM)
            .not_valid_after(VALID_UNTIL)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        chain = self.directory / f"{name}.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


def make_test_ca(directory: Path) -> LocalCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "doti test CA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return LocalCA(key, certificate, directory)
