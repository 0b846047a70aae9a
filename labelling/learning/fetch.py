"""The worker's image fetch, under a policy: a URL in an item comes from whoever made the CSV file, and the
worker runs inside the deployer's network, so it must not become a way to reach that network (SSRF).

* http and https only;
* every address the name resolves to must be public (`ipaddress.is_global`: no loopback, private,
  link-local — which holds the cloud metadata address 169.254.169.254 —, shared, multicast, reserved
  or unspecified address, IPv4-mapped ones included) unless the deployer sets `allow_private_urls`;
* the connection goes to the address that was checked, never to the name again (a name that resolves
  to a public address for the check and to 127.0.0.1 for the connection — DNS rebinding — gets nowhere);
* each redirect is a new request, checked the same way; at most MAX_REDIRECTS;
* one deadline for the whole fetch, redirects included, and a cap on the bytes read;
* a failure is reported in the fetch's own words (a status code, "timed out"), never with the target's
  response body.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from labelling.errors import ImageUnavailable

__all__ = ["MAX_REDIRECTS", "UrlPolicy", "fetch", "system_resolver"]

MAX_REDIRECTS = 5
READ_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)

Resolver = Callable[[str, int], list[str]]
"""host, port -> the IP addresses to connect to (as text)."""
Connector = Callable[[str, int, float], socket.socket]
"""ip, port, timeout -> a connected socket."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ImageUnavailable(f"could not fetch it (no address for the name {host!r})") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def _connect(ip: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((ip, port), timeout=timeout)


@dataclass(frozen=True)
class UrlPolicy:
    """What the worker may fetch: `allow_private` lets it reach non-public addresses (a deployer whose
    images sit on an internal server); `resolver` and `connect` are the network (tests replace them)."""

    allow_private: bool = False
    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    resolver: Resolver = field(default=system_resolver, compare=False)
    connect: Connector = field(default=_connect, compare=False)

    def address(self, host: str, port: int) -> str:
        """The one address to connect to for `host`: every address it resolves to must be allowed."""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        if not addresses:
            raise ImageUnavailable(f"could not fetch it (no address for the name {host!r})")
        if not self.allow_private:
            for address in addresses:
                mapped = getattr(address, "ipv4_mapped", None) or address
                if not mapped.is_global or mapped.is_multicast:
                    where = "is" if str(address) == host else f"resolves to {address},"
                    raise ImageUnavailable(
                        f"refused: {host} {where} a non-public address; the worker fetches images from public "
                        "addresses only unless the deployer sets allow_private_urls"
                    )
        return str(addresses[0])


def fetch(url: str, policy: UrlPolicy) -> bytes:
    """The body of `url` under `policy`, following checked redirects; ImageUnavailable says why not."""
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _request(url, policy, deadline)
        if status in _REDIRECTS:
            if not location:
                raise ImageUnavailable(f"could not fetch it (HTTP {status} without a Location)")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise ImageUnavailable(f"could not fetch it (HTTP {status})")
        return body
    raise ImageUnavailable(f"could not fetch it (more than {MAX_REDIRECTS} redirects)")


def _request(url: str, policy: UrlPolicy, deadline: float) -> tuple[int, str | None, bytes]:
    """One GET: (status, Location header, body — read only for a 200)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ImageUnavailable(f"refused: only http and https URLs are fetched, not {scheme or 'this'}")
    try:
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ImageUnavailable("could not fetch it (the URL has a bad port)") from None
    if not host:
        raise ImageUnavailable("could not fetch it (the URL names no host)")
    ip = policy.address(host, port)
    connection = _Connection(host, port, ip, scheme == "https", policy.connect, policy.timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.timeout = _left(deadline)
        connection.request("GET", target, headers={"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "image/*"})
        response = connection.getresponse()
        if response.status != 200:
            return response.status, response.getheader("Location"), b""
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > policy.max_bytes:
            raise ImageUnavailable(f"larger than {policy.max_bytes // 1024 // 1024} MB")
        return 200, None, _read(response, policy.max_bytes, deadline, connection)
    except TimeoutError:
        raise ImageUnavailable("could not fetch it (timed out)") from None
    except ssl.SSLError:
        raise ImageUnavailable("could not fetch it (the secure connection failed)") from None
    except (OSError, http.client.HTTPException):
        raise ImageUnavailable("could not fetch it (the connection failed)") from None
    finally:
        connection.close()


def _read(response: http.client.HTTPResponse, max_bytes: int, deadline: float, connection: _Connection) -> bytes:
    chunks, size = [], 0
    while not response.isclosed():
        connection.socket.settimeout(_left(deadline))  # each read waits only as long as the fetch has left
        chunk = response.read(READ_CHUNK)
        size += len(chunk)
        if size > max_bytes:
            raise ImageUnavailable(f"larger than {max_bytes // 1024 // 1024} MB")
        chunks.append(chunk)
        if not chunk:
            break
    return b"".join(chunks)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


class _Connection(http.client.HTTPSConnection):
    """An HTTP(S) connection to an address already checked, speaking to the server as `host` (Host header,
    TLS server name and certificate check)."""

    def __init__(self, host: str, port: int, ip: str, tls: bool, connect: Connector, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip, self._tls, self._connect_to = ip, tls, connect

    def connect(self) -> None:
        self.sock = self._connect_to(self._ip, self.port, self.timeout)
        if self._tls:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)
        self.socket = self.sock  # http.client forgets `sock` once a response that closes it is read
