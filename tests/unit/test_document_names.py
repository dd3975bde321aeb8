"""The name a document sent without `filename` gets (workers.wa.media.document_name): the last
part of its path or URL, made a plain file name; else "document.<extension>"."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wagw.config import Settings
from workers.wa import media

PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.mark.parametrize(
    ("source", "value", "mimetype", "name"),
    [
        ("path", "/srv/media/Q3 report.pdf", "application/pdf", "Q3 report.pdf"),
        ("path", "reports/invoice", "application/pdf", "invoice.pdf"),
        ("path", "notes", "application/octet-stream", "notes"),
        ("url", "https://example.com/files/Jahres%C3%BCbersicht%202026.pdf?x=1#p", "application/pdf",
         "Jahresübersicht 2026.pdf"),
        ("url", "https://example.com/download/", "application/pdf", "document.pdf"),
        ("url", "https://example.com/a%2F..%2Fetc%2Fpasswd", "text/plain", "document.txt"),
        ("url", "https://example.com/evil%0Aname.pdf", "application/pdf", "document.pdf"),
        ("url", "https://example.com/..", "application/zip", "document.zip"),
        ("url", "https://example.com/" + "a" * 300 + ".pdf", "application/pdf", "document.pdf"),
        ("bytes", "JVBERi0=", "application/pdf", "document.pdf"),
        ("bytes", "AAAA", "application/octet-stream", "document.bin"),
    ],
)  # fmt: skip
def test_the_name_of_a_document_without_one(source, value, mimetype, name):
    assert media.document_name(source, value, mimetype) == name


def test_a_document_fetched_by_url_is_named_after_the_url(tmp_path):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PDF)))
            self.end_headers()
            self.wfile.write(PDF)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings(_env_file=None, data_dir=tmp_path, fetch_private=True)
        url = f"http://127.0.0.1:{server.server_address[1]}/exports/Q3%20report.pdf?token=abc"
        params = media.prepare("send_file", {"to": "1@s.whatsapp.net", "file": url, "filename": None}, settings, None)
    finally:
        server.shutdown()
        server.server_close()
    assert (params["filename"], params["mimetype"]) == ("Q3 report.pdf", "application/pdf")
