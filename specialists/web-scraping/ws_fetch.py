"""Guarded HTTP fetching: scheme and address checks, robots.txt, size, time, page and rate limits.

Every request (including redirects and robots.txt) passes :func:`check_url`: only http/https,
and never link-local / cloud-metadata, loopback, multicast or unspecified addresses. The host
is resolved before each request; a DNS answer that changes between the check and the
connection is not caught (the container's network is the second line of defence).
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from switchboard_runtime.api import SpecialistError

__all__ = ["USER_AGENT", "Fetcher", "Page", "check_url", "gateways"]

USER_AGENT = "SwitchboardScraper/0.1"
MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 5
MIN_INTERVAL_S = 0.2
ROBOTS_TTL_S = 3600.0
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
# The Docker API and the model servers: never reachable, whatever host name points at them.
_SERVICE_PORTS = {
    2375: "the Docker API",
    2376: "the Docker API",
    11434: "the model server",
    11435: "the model server",
    11436: "the model server",
}
_HOST_ALIASES = ("host.docker.internal", "gateway.docker.internal", "localhost")
_ROBOTS: dict[str, tuple[float, urllib.robotparser.RobotFileParser]] = {}
_LAST_REQUEST: dict[str, float] = {}


@dataclass
class Page:
    """One fetched HTML page."""

    url: str
    status: int
    content_type: str
    text: str
    bytes: int = 0
    redirects: list[str] = field(default_factory=list)


def _forbidden(message: str) -> SpecialistError:
    return SpecialistError("forbidden", message)


def gateways() -> set[ipaddress.IPv4Address]:
    """The container's default gateways (``/proc/net/route``): the Docker host, as seen from here."""
    found: set[ipaddress.IPv4Address] = set()
    try:
        with open("/proc/net/route", encoding="ascii") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 2 and fields[2] != "00000000":
                    found.add(ipaddress.IPv4Address(int(fields[2], 16).to_bytes(4, "little")))
    except (OSError, ValueError):
        pass
    return found


def check_url(url: str) -> tuple[str, int]:
    """Refuse non-http(s) URLs, the Docker host and its services, and link-local, metadata or
    loopback addresses (also spelled as IPv4-mapped IPv6)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SpecialistError("bad_input", f"{url[:200]!r} is not a valid URL ({exc}).") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _forbidden(
            f"Only http and https URLs are fetched; {parts.scheme or 'no'!r} scheme refused in {url[:200]!r}."
        )
    host = parts.hostname
    if not host:
        raise SpecialistError("bad_input", f"{url[:200]!r} has no host name.")
    if host.rstrip(".").lower() in _HOST_ALIASES:
        raise _forbidden(f"{host} is this machine; refused.")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    if port in _SERVICE_PORTS:
        raise _forbidden(f"Port {port} is {_SERVICE_PORTS[port]}'s; {url[:200]!r} refused.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SpecialistError(
            "bad_input", f"Cannot resolve host {host!r} ({getattr(exc, 'strerror', None) or exc})."
        ) from None
    hosts = gateways()
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip in hosts:
            raise _forbidden(f"{host} resolves to {ip}, the Docker host (this container's gateway); refused.")
        if ip.is_link_local or ip in _METADATA:
            raise _forbidden(f"{host} resolves to link-local/metadata address {ip}; refused.")
        if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
            raise _forbidden(f"{host} resolves to {ip} (loopback/unspecified/multicast); refused.")
    return host, port


class Fetcher:
    """Fetches pages within one task's budget: deadline, page count, bytes, request rate."""

    def __init__(self, deadline: float, max_pages: int, max_bytes: int = MAX_BYTES) -> None:
        import httpx

        self.deadline = deadline
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.pages = 0
        self.requests = 0
        self.client = httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT}, trust_env=False)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SpecialistError("timeout", f"The scraping time budget ran out after {self.pages} pages.")
        return left

    def _pace(self, host: str) -> None:
        wait = _LAST_REQUEST.get(host, 0.0) + MIN_INTERVAL_S - time.monotonic()
        if wait > 0:
            if wait > self._remaining():
                raise SpecialistError("timeout", "The time budget ends before the next request.")
            time.sleep(wait)
        _LAST_REQUEST[host] = time.monotonic()

    def _request(self, url: str) -> tuple[Any, bytes, list[str]]:
        import httpx

        redirects: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            host, _port = check_url(url)
            self._pace(host)
            self.requests += 1
            timeout = httpx.Timeout(min(10.0, self._remaining()))
            try:
                with self.client.stream("GET", url, timeout=timeout) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        redirects.append(url)
                        continue
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > self.max_bytes:
                        raise SpecialistError(
                            "limit", f"{url} is {declared} bytes; the limit is {self.max_bytes} bytes."
                        )
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise SpecialistError(
                                "limit", f"{url} is larger than the {self.max_bytes}-byte limit; stopped."
                            )
                    return response, bytes(body), redirects
            except httpx.TimeoutException:
                raise SpecialistError("timeout", f"{url} did not answer in time.") from None
            except httpx.HTTPError as exc:
                raise SpecialistError("bad_input", f"Could not fetch {url}: {type(exc).__name__}: {exc}.") from None
        raise SpecialistError("bad_input", f"More than {MAX_REDIRECTS} redirects from {url}.")

    def allowed(self, url: str) -> None:
        """Obey robots.txt (fetched once per origin and cached); raise forbidden if disallowed."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = _ROBOTS.get(origin)
        if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL_S:
            parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
            # An unreachable host fails here with its real error; a 5xx answer means "disallow".
            response, body, _ = self._request(origin + "/robots.txt")
            status = response.status_code
            if status in (401, 403):
                parser.disallow_all = True
            elif 400 <= status < 500:
                parser.allow_all = True
            elif status >= 500:
                parser.disallow_all = True
            else:
                parser.parse(body.decode("utf-8", errors="replace").splitlines())
            cached = (time.monotonic(), parser)
            _ROBOTS[origin] = cached
        if not cached[1].can_fetch(USER_AGENT, url):
            raise _forbidden(f"robots.txt of {origin} disallows {parts.path or '/'} for crawlers; not fetched.")

    def get(self, url: str) -> Page:
        """Fetch one HTML page after the robots check, counting it against the page limit."""
        if self.pages >= self.max_pages:
            raise SpecialistError("limit", f"Page limit of {self.max_pages} reached.")
        check_url(url)
        self.allowed(url)
        response, body, redirects = self._request(url)
        if redirects:
            self.allowed(redirects[-1])
        self.pages += 1
        if response.status_code >= 400:
            raise SpecialistError("bad_input", f"{url} answered HTTP {response.status_code}.")
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not (ctype.startswith("text/") or "html" in ctype or "xml" in ctype):
            raise SpecialistError("unsupported", f"{url} is {ctype}, not an HTML page.")
        encoding = response.encoding or "utf-8"
        try:
            text = body.decode(encoding, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return Page(str(response.url), response.status_code, ctype, text, len(body), redirects)
