"""Finding 3 of issue 15: the worker fetched any URL in an image column (SSRF): `http://127.0.0.1:PORT/...`
cells made it call services on its own machine, and the reasons shown on the Train page mapped their
ports. Now it fetches http(s) from public addresses only unless the deployer allows private ones,
checks every redirect and the address it connects to (not the name), caps size and time, and never
repeats what the target answered.

The network is simulated where a public address is needed: a resolver hook gives the names' addresses,
and a connect hook routes the "public" addresses to a server on 127.0.0.1."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator

import pytest
from PIL import Image

from labelling.errors import ImageUnavailable
from labelling.learning.features import ImageLoader
from labelling.learning.fetch import UrlPolicy, fetch

PUBLIC = {"images.example": "93.184.216.34", "other.example": "93.184.216.35"}
SECRET = b"internal-service-secret"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (4, 4), 200).save(out, format="PNG")
    return out.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    """/img.png an image, /secret an internal service's answer, /to?url a redirect, /big many bytes,
    /error a 500 whose body names the service."""

    requests: list[str]

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(f"{self.headers['Host']}{self.path}")
        if self.path == "/img.png":
            self._send(200, png())
        elif self.path == "/secret":
            self._send(200, SECRET)
        elif self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path[4:])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self._send(200, b"\0" * 4096)
        else:
            self._send(500, b"internal-service-secret: stack trace")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    requests: list[str] = []
    handler = type("Recording", (Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], requests
    httpd.shutdown()
    httpd.server_close()


def simulated(port: int, **options) -> UrlPolicy:
    """The names in PUBLIC resolve to public addresses, which lead to the local server; everything else is
    resolved for real (127.0.0.1, localhost) and connected to for real."""

    def resolve(host: str, _port: int) -> list[str]:
        return [PUBLIC[host]] if host in PUBLIC else [a[4][0] for a in socket.getaddrinfo(host, _port)]

    def connect(ip: str, _port: int, timeout: float) -> socket.socket:
        target = ("127.0.0.1", port) if ip in PUBLIC.values() else (ip, _port)
        return socket.create_connection(target, timeout=timeout)

    return UrlPolicy(resolver=resolve, connect=connect, **options)


def test_a_local_server_is_refused_by_default_and_reached_when_the_deployer_allows_it(server):
    port, requests = server
    url = f"http://127.0.0.1:{port}/secret"
    for target in (url, f"http://localhost:{port}/secret", f"http://[::ffff:127.0.0.1]:{port}/secret"):
        with pytest.raises(ImageUnavailable, match="non-public address"):
            fetch(target, UrlPolicy())
    assert requests == []  # refused before connecting
    assert fetch(url, UrlPolicy(allow_private=True)) == SECRET


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.100.100.200", "224.0.0.1",
                "0.0.0.0", "240.0.0.1", "fd00:ec2::254", "fe80::1", "::1"]
)
def test_private_link_local_metadata_multicast_and_reserved_addresses_are_refused(address):
    policy = UrlPolicy(resolver=lambda host, port: [address])
    with pytest.raises(ImageUnavailable, match="non-public address"):
        fetch("http://innocent.example/img.png", policy)


def test_a_public_name_is_fetched_and_a_redirect_to_another_public_name_followed(server):
    port, requests = server
    assert fetch(f"http://images.example:{port}/img.png", simulated(port)) == png()
    redirect = f"http://images.example:{port}/to?http://other.example:{port}/img.png"
    assert fetch(redirect, simulated(port)) == png()
    assert requests[-1] == f"other.example:{port}/img.png"  # the Host the server saw


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/secret", "http://localhost:{port}/secret",
                                    "http://[::1]:{port}/secret", "file:///etc/hostname", "ftp://x/y"])
def test_a_redirect_from_an_allowed_host_to_a_local_or_non_http_target_is_refused(server, target):
    port, requests = server
    with pytest.raises(ImageUnavailable, match="refused"):
        fetch(f"http://images.example:{port}/to?{target.format(port=port)}", simulated(port))
    assert requests == [f"images.example:{port}/to?{target.format(port=port)}"]  # the target was never asked


def test_a_name_with_any_private_address_is_refused_and_the_connection_goes_to_the_checked_one(server):
    port, requests = server
    mixed = UrlPolicy(resolver=lambda host, _port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(ImageUnavailable, match="non-public address"):
        fetch(f"http://rebind.example:{port}/secret", mixed)
    connected: list[str] = []

    def connect(ip, _port, timeout):
        connected.append(ip)
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    names = iter([["93.184.216.34"], ["127.0.0.1"]])  # a second lookup would answer differently
    fetch(f"http://rebind.example:{port}/img.png", UrlPolicy(resolver=lambda h, p: next(names), connect=connect))
    assert connected == ["93.184.216.34"]  # one lookup, and the address checked is the one connected to


def test_size_time_and_failures_are_capped_and_reported_without_the_answer(server):
    port, _ = server
    with pytest.raises(ImageUnavailable, match="larger than"):
        fetch(f"http://images.example:{port}/big", simulated(port, max_bytes=1024))
    with pytest.raises(ImageUnavailable) as failed:
        fetch(f"http://images.example:{port}/error", simulated(port))
    assert str(failed.value) == "could not fetch it (HTTP 500)"  # the body (which names the service) is not shown
    loops = f"http://images.example:{port}/to?http://images.example:{port}/to?/to?/to?/to?/to?/to?/img.png"
    with pytest.raises(ImageUnavailable, match="redirects"):
        fetch(loops, simulated(port))

    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        quiet = UrlPolicy(allow_private=True, timeout=0.5)
        with pytest.raises(ImageUnavailable, match="timed out"):
            fetch(f"http://127.0.0.1:{silent.getsockname()[1]}/img.png", quiet)
    finally:
        silent.close()


def test_the_worker_loader_applies_the_policy_from_the_settings(server, monkeypatch):
    port, requests = server
    url = f"http://127.0.0.1:{port}/img.png"
    monkeypatch.delenv("LABELLING_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(ImageUnavailable, match="allow_private_urls"):
        ImageLoader.configured(None).load(url)
    assert requests == []
    monkeypatch.setenv("LABELLING_ALLOW_PRIVATE_URLS", "1")
    assert ImageLoader.configured(None).load(url).shape == (4, 4)
