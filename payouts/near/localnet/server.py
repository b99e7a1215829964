"""Serving the local chain over HTTP: ``LocalNetServer``, ``localnet_serve``, ``localnet_run``
and ``main`` (``python -m payouts.near.localnet``).

As nearcore's RPC: JSON-RPC 2.0 on ``POST /``, ``GET /status`` and ``GET /health``
(chain/jsonrpc/src/lib.rs ``start_http``). Requests are served on threads; keep-alive
connections are tracked so a shutdown can cut them.

CORS, so a wallet in a web page can call it (static/js/near-wallet.js), as nearcore's
default answers: ``start_http`` wraps the app in ``get_cors(&cors_allowed_origins)``
(chain/jsonrpc/src/lib.rs), with ``RpcConfig::default().cors_allowed_origins == ["*"]``,
i.e. actix-cors's ``Cors::permissive()`` narrowed by ``.allowed_methods(["GET", "POST"])``
(added to permissive's set of every method, so still every method),
``.allowed_headers([AUTHORIZATION, ACCEPT]).allowed_header(CONTENT_TYPE)`` (these three
only) and ``.max_age(3600)``. actix-cors (actix-extras, actix-cors/src/middleware.rs and
inner.rs) then answers:

- an ``OPTIONS`` preflight itself, without calling the app: 400 when
  ``Access-Control-Request-Method`` is missing or not a method, or when
  ``Access-Control-Request-Headers`` names a header outside those three; else 200 with the
  request's ``Origin`` echoed in ``Access-Control-Allow-Origin`` (permissive does not send
  ``*``), the allowed methods and headers, ``Access-Control-Allow-Credentials: true`` and
  ``Access-Control-Max-Age: 3600``;
- any other request with an ``Origin``: the app's answer plus the echoed
  ``Access-Control-Allow-Origin``, ``Access-Control-Allow-Credentials: true`` and
  ``Vary: Origin``; without an ``Origin``, the answer untouched.

Not modelled: permissive's ``Access-Control-Expose-Headers`` (a page reading a JSON body
needs none) and a configured list of origins (nearcore's default allows all).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from payouts.near.localnet.errors import (
    HTTP_BAD_REQUEST,
    HTTP_LENGTH_REQUIRED,
    HTTP_NOT_FOUND,
    HTTP_OK,
)
from payouts.near.localnet.node import DEFAULT_BLOCK_INTERVAL, DEFAULT_POLLING_TIMEOUT, LocalNet
from payouts.near.localnet.state import DEFAULT_VALIDITY_PERIOD

log = logging.getLogger(__name__)

# actix-cors's Cors::permissive() allows every method in its ALL_METHODS_SET; nearcore's
# allowed_methods(["GET", "POST"]) adds to that set. Sent sorted, one header value.
CORS_ALLOWED_METHODS = (
    "CONNECT",
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "POST",
    "PUT",
    "TRACE",
)
# nearcore's allowed_headers([AUTHORIZATION, ACCEPT]) + allowed_header(CONTENT_TYPE): these
# replace permissive's "any header". Header names compare lowercase (http's HeaderName).
CORS_ALLOWED_HEADERS = ("accept", "authorization", "content-type")
CORS_MAX_AGE = 3600  # seconds a browser may cache a preflight answer


def cors_preflight_refusal(method: str | None, headers: str | None) -> str | None:
    """Why actix-cors refuses a preflight (its CorsError text), or None when it passes."""
    if method is None:
        return "The request's Access-Control-Request-Method header is missing"
    if method.strip() not in CORS_ALLOWED_METHODS:
        return "The request's Access-Control-Request-Method header is invalid"
    if headers is None:
        return None
    requested = {name.strip().lower() for name in headers.split(",")}
    if "" in requested:
        return "The request's Access-Control-Request-Headers header is invalid"
    if not requested <= set(CORS_ALLOWED_HEADERS):
        return "One or more request headers are not allowed"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients with connection pools expect
    server_version = "nearlabel-localnet"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_track(self.connection, alive=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_track(self.connection, alive=False)

    def _send_cors(self) -> None:
        """actix-cors's additions to an answer to a request with an Origin."""
        origin = self.headers.get("Origin")
        if origin is None:
            return
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Vary", "Origin")

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        # A call that waited may find its connection cut by a shutdown meanwhile.
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self._send_cors()
            self.end_headers()
            self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        """A CORS preflight, answered as nearcore's actix-cors middleware does (see above)."""
        refusal = cors_preflight_refusal(
            self.headers.get("Access-Control-Request-Method"),
            self.headers.get("Access-Control-Request-Headers"),
        )
        if refusal is not None:
            body = refusal.encode("utf-8")
            self.send_response(HTTP_BAD_REQUEST)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(HTTP_OK)
        origin = self.headers.get("Origin")
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Access-Control-Allow-Methods", ", ".join(CORS_ALLOWED_METHODS))
        self.send_header("Access-Control-Allow-Headers", ", ".join(CORS_ALLOWED_HEADERS))
        self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Access-Control-Max-Age", str(CORS_MAX_AGE))
        self.send_header(
            "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.send_response(HTTP_LENGTH_REQUIRED)
            self.send_header("Content-Length", "0")
            self._send_cors()
            self.end_headers()
            return
        reply = self.server.chain.handle_body(self.rfile.read(int(length)))
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)
        if reply.drop:
            # Cut the connection without an answer (the fault says whether anything applied).
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send_json(reply.http_status, reply.payload)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/status":
            self._send_json(HTTP_OK, self.server.chain.status())
        elif path == "/health":
            self._send_json(HTTP_OK, None)
        else:
            self._send_json(HTTP_NOT_FOUND, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("localnet http %s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], chain: LocalNet) -> None:
        self.chain = chain
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def connection_track(self, connection: socket.socket, *, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def connections_close(self) -> None:
        """Cut kept-alive connections so their handler threads end (and clients notice)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LocalNetServer:
    """A running localnet: ``url`` for NearClient, ``chain`` for direct inspection."""

    def __init__(self, chain: LocalNet, httpd: _HTTPServer, thread: threading.Thread) -> None:
        self.chain = chain
        self._httpd = httpd
        self._thread = thread
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self._stopped = False

    def __repr__(self) -> str:
        return f"LocalNetServer(url={self.url!r}, state={str(self.chain.state_path)!r})"

    def shutdown(self) -> None:
        """Stop serving, cut open connections, save state and release it. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.connections_close()
        self._httpd.server_close()
        self._thread.join(timeout=10)
        self.chain.close()
        log.info("localnet at %s stopped", self.url)

    def __enter__(self) -> LocalNetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def localnet_serve(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
    fsync: bool = True,
    polling_timeout: float = DEFAULT_POLLING_TIMEOUT,
    block_interval: float = DEFAULT_BLOCK_INTERVAL,
) -> LocalNetServer:
    """Load (or create) the chain at ``state_path`` and serve it on a background thread.

    ``port=0`` picks a free port (see ``.url``). ``polling_timeout``: seconds a call waiting
    for a transaction polls before TIMEOUT_ERROR (nearcore's 10 s); ``block_interval``:
    seconds between the blocks produced while one waits. Raises LocalNetStateError if the
    state is corrupt or already served by another process, OSError if the address is taken.
    """
    chain = LocalNet(
        state_path=state_path,
        transaction_validity_period=transaction_validity_period,
        fsync=fsync,
        polling_timeout=polling_timeout,
        block_interval=block_interval,
    )
    try:
        httpd = _HTTPServer((host, port), chain)
    except BaseException:
        chain.close()
        raise
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="localnet", daemon=True
    )
    thread.start()
    server = LocalNetServer(chain, httpd, thread)
    log.warning(
        "nearlabel localnet: a LOCAL test chain, NOT NEAR (chain_id=%s) serving %s, state %s,"
        " height %s",
        chain.chain_id,
        server.url,
        chain.state_path,
        chain.head_height,
    )
    return server


def localnet_run(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 3030,
    transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
    polling_timeout: float = DEFAULT_POLLING_TIMEOUT,
    block_interval: float = DEFAULT_BLOCK_INTERVAL,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then save state and return."""
    server = localnet_serve(
        state_path=state_path,
        host=host,
        port=port,
        transaction_validity_period=transaction_validity_period,
        polling_timeout=polling_timeout,
        block_interval=block_interval,
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("localnet got signal %s, stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()


def main(argv: list[str] | None = None) -> None:
    """``python -m payouts.near.localnet --state var/localnet/state.json --port 3030``."""
    parser = argparse.ArgumentParser(
        prog="python -m payouts.near.localnet",
        description="Nearlabel localnet (a local test chain, not NEAR)",
    )
    parser.add_argument("--state", default="var/localnet/state.json", help="state file path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3030)
    parser.add_argument(
        "--validity-period",
        type=int,
        default=DEFAULT_VALIDITY_PERIOD,
        help="blocks a transaction's block_hash stays valid",
    )
    parser.add_argument(
        "--polling-timeout",
        type=float,
        default=DEFAULT_POLLING_TIMEOUT,
        help="seconds a call waiting for a transaction polls before TIMEOUT_ERROR",
    )
    parser.add_argument(
        "--block-interval",
        type=float,
        default=DEFAULT_BLOCK_INTERVAL,
        help="seconds between the empty blocks produced while a call waits",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    localnet_run(
        state_path=args.state,
        host=args.host,
        port=args.port,
        transaction_validity_period=args.validity_period,
        polling_timeout=args.polling_timeout,
        block_interval=args.block_interval,
    )
