"""Static test site for the web-scraping specialist (stdlib only, read-only, non-root).

Serves ``site/`` on port 80 plus two dynamic paths used to test the scraper's guards:
``/redirect-metadata`` (a redirect to the cloud-metadata address) and ``/big`` (3 MiB body).
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

SITE = Path(__file__).resolve().parent / "site"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus the guard-test endpoints; no directory listings."""

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Serve the dynamic test paths, else the static file."""
        if self.path == "/redirect-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/big":
            size = 3 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>\n"
            sent = 0
            while sent < size:
                self.wfile.write(chunk)
                sent += len(chunk)
            return
        super().do_GET()

    def list_directory(self, path: str) -> None:  # type: ignore[override]
        """Refuse directory listings."""
        self.send_error(404)
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Log one line per request to stderr (docker logs)."""
        super().log_message(format, *args)


def main() -> None:
    """Serve forever on port 80."""
    handler = functools.partial(Handler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 80), handler)
    print("READY sb-testsite", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
