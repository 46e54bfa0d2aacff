"""A real HTTP server for the app (werkzeug, threaded, on a free port) and a minimal client with
cookies: the races go through sockets, WSGI, the session cookie and the views like a browser."""

from __future__ import annotations

import http.client
import logging
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from flask import Flask
from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app: Flask) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the report
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


class Client:
    """One person's browser: their cookies, one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            return response.status, text
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        return self.request("POST", path, form or {})

    def login(self, username: str, password: str) -> Client:
        status, _ = self.post("/login", {"username": username, "password": password})
        assert status == 302, f"login of {username}: {status}"
        return self
