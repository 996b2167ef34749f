"""A stand-in ClickHouse HTTP server on 127.0.0.1, answered by chdb: for testing the HTTP engine here.

Usage: python chdb_http_server.py STORAGE_PATH  -> prints its port, serves until stdin closes.
It speaks just enough of the protocol for clickhouse-connect: `query` in the URL or the body,
settings and `database` as URL parameters, INSERT ... FORMAT x with the data in the body.
"""

import http.server
import os
import re
import sys
import threading
import urllib.parse

from chdb import session as chdb_session

NOT_SETTINGS = {
    "query",
    "database",
    "default_format",
    "wait_end_of_query",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "enable_http_compression",
    "session_id",
    "session_timeout",
    "session_check",
    "query_id",
    "user",
    "password",
    "compress",
    "decompress",
    "client_protocol_version",
}
INSERT_WITH_DATA = re.compile(r"^(?P<insert>\s*INSERT\s.*?)\s+FORMAT\s+(?P<fmt>\w+)\s*$", re.I | re.S)
FORMAT_CLAUSE = re.compile(r"\sFORMAT\s+(\w+)\s*;?\s*$", re.I)
lock = threading.Lock()  # one chdb statement at a time, as on a single server session


def run(path: str, params: dict, query: str, data: bytes) -> tuple[bytes, str]:
    session = chdb_session.Session(path)
    try:
        for name, value in params.items():
            if name not in NOT_SETTINGS and not name.startswith("param_"):
                number = re.fullmatch(r"-?\d+", value)
                session.query(f"SET {name} = {value}" if number else f"SET {name} = '{value}'")
        if params.get("database"):
            session.query(f"USE `{params['database']}`")
        insert = INSERT_WITH_DATA.match(query)
        if insert and data:
            with session.send_insert(insert.group("insert"), insert.group("fmt")) as inserter:
                inserter.append(data)
                inserter.finish()
            return b"", "TabSeparated"
        clause = FORMAT_CLAUSE.search(query)
        fmt = clause.group(1) if clause else params.get("default_format", "TabSeparated")
        return session.query(query, fmt).bytes(), fmt
    finally:
        session.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.answer(b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.answer(self.rfile.read(length) if length else b"")

    def answer(self, body: bytes):
        url = urllib.parse.urlsplit(self.path)
        if url.path.rstrip("/") == "/ping":
            return self.reply(200, b"Ok.\n", {})
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        query, data = (params["query"], body) if "query" in params else (body.decode(), b"")
        try:
            with lock:
                out, fmt = run(sys.argv[1], params, query, data)
        except Exception as error:
            return self.reply(500, f"{error}\n".encode(), {"X-ClickHouse-Exception-Code": "1"})
        headers = {"X-ClickHouse-Format": fmt, "X-ClickHouse-Timezone": "UTC", "X-ClickHouse-Summary": "{}"}
        self.reply(200, out, headers)

    def reply(self, code: int, payload: bytes, headers: dict):
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def exit_when_parent_goes():
    sys.stdin.read()  # EOF: the test session ended or died
    os._exit(0)


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()
