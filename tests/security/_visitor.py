"""A browser session without a browser: Streamlit's own protocol (the WebSocket at /_stcore/stream, the
upload route), as a visitor who never signs in can speak it. Imports neither pytest nor Playwright."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import urlopen

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import ClientConnection, connect

XSRF_COOKIE = "_streamlit_xsrf"
RUN_SECONDS = 180
"""A deadline for one script run of a fresh process on a loaded machine, not a delay."""


@dataclass
class Visitor:
    url: str
    websocket: ClientConnection
    session_id: str
    xsrf: str

    def send(self, message: BackMsg) -> None:
        self.websocket.send(message.SerializeToString())

    def rerun(self) -> None:
        """Ask for a script run (what opening the page does) and return once it has finished."""
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        self.send(message)
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.websocket.recv(timeout=RUN_SECONDS))
            if forward.WhichOneof("type") == "new_session":
                self.session_id = forward.new_session.initialize.session_id
            if forward.WhichOneof("type") == "script_finished":
                return

    def clear_cache(self) -> None:
        """The "Clear cache" message, which any client may send (the menu item is only hidden)."""
        message = BackMsg()
        message.clear_cache = True
        self.send(message)

    def upload(self, size: int) -> tuple[int, bytes]:
        """PUT a file of `size` bytes to this session's upload route, as the file uploader does; the status
        and body of the answer, or (0, b"") when the server closed the connection before reading it all."""
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=RUN_SECONDS)
        try:
            connection.putrequest("PUT", f"/_stcore/upload_file/{self.session_id}/{uuid.uuid4()}")
            for name, value in {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + size + len(tail)),
                "X-Xsrftoken": self.xsrf,
                "Cookie": f"{XSRF_COOKIE}={self.xsrf}",
            }.items():
                connection.putheader(name, value)
            connection.endheaders()
            connection.send(head)
            chunk = b"x" * (1 << 20)
            for start in range(0, size, len(chunk)):
                connection.send(chunk[: min(len(chunk), size - start)])
            connection.send(tail)
            response = connection.getresponse()
            return response.status, response.read()
        except (ConnectionResetError, BrokenPipeError):
            return 0, b""
        finally:
            connection.close()



@contextmanager
def visit(url: str) -> Iterator[Visitor]:
    """A session opened as a browser tab opens one (the XSRF cookie, then the WebSocket), after its first
    script run; closed afterwards."""
    with urlopen(f"{url}/_stcore/health", timeout=RUN_SECONDS) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
    xsrf = next(c.split("=", 1)[1].split(";", 1)[0] for c in cookies if c.startswith(f"{XSRF_COOKIE}="))
    with connect(
        url.replace("http", "ws", 1) + "/_stcore/stream",
        subprotocols=["streamlit", xsrf],
        additional_headers={"Cookie": f"{XSRF_COOKIE}={xsrf}", "Origin": url},
        max_size=None,
    ) as websocket:
        visitor = Visitor(url, websocket, "", xsrf)
        visitor.rerun()
        yield visitor
