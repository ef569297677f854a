"""Where REST hooks may POST: http(s) targets that resolve to public addresses only, pinned once resolved.

A target is checked when it is subscribed and again before every delivery: its host is resolved once,
every address the resolver gives must be public, and the delivery then connects to that address
(keeping the Host header and TLS SNI and certificate checks for the name), so a DNS answer that
changes between the check and the connection (rebinding) cannot reach an internal service.
`BRIDGE_ALLOW_PRIVATE_TARGETS` (tests) lets loopback and private networks through; link-local
(cloud metadata), unspecified, multicast and reserved addresses are refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = {"http": 80, "https": 443}
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
"""Names that mean this machine whatever a resolver says; `*.localhost` too (RFC 6761)."""
MAX_URL = 2000

CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The target URL may not be used; the message says why (safe to show the user)."""


class Unresolvable(TargetRefused):
    """The host does not resolve now (it may later: a subscription is not refused for it)."""


@dataclass(frozen=True)
class Target:
    """A checked target: where to connect (`address`) and what to ask for there."""

    scheme: str
    host: str
    """The name (or literal address) from the URL, lower case, IDNA-encoded, without brackets."""
    port: int
    path: str
    """Path and query to request."""
    address: str
    """The resolved address to connect to."""

    @property
    def host_header(self) -> str:
        """The Host header: the name, with the port when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or TargetRefused."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise TargetRefused(f"Give an http or https URL of at most {MAX_URL} characters.")
    if any(ord(char) < 33 or char == "\\" for char in url):
        raise TargetRefused("The URL may not contain spaces, control characters or backslashes.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is malformed (check its host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TargetRefused("Only http and https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not supported.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("The URL has no host.")
    if "%" in host:
        raise TargetRefused("Scoped IPv6 addresses are not allowed.")
    try:
        host = host.encode("idna").decode("ascii").lower() if not _is_literal(host) else host
    except UnicodeError:
        raise TargetRefused("The host name is not valid.") from None
    if port == 0:
        raise TargetRefused("Port 0 is not allowed.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or SCHEMES[scheme], path


def _is_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 literal in canonical form."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def refusal(address: IPAddress, allow_private: bool = False) -> str | None:
    """Why a delivery may not go to `address` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded, allow_private)
        if address.teredo or address in NAT64_LOCAL:
            return "a tunnelled address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address (such as cloud metadata)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return None if allow_private else "a loopback address"
    if isinstance(address, ipaddress.IPv6Address):
        private = address.is_private or address.is_site_local
    else:
        private = address.is_private or address in CGNAT
    if private and allow_private and not address.is_reserved:
        return None
    if address.is_reserved:
        return "a reserved address"
    if private or not address.is_global:
        return "a private address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the resolver gives for host (once), or TargetRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Unresolvable(f"The host {host!r} does not resolve.") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            text = sockaddr[0].split("%", 1)[0]
            address = ipaddress.ip_address(text)
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise Unresolvable(f"The host {host!r} does not resolve.")
    return addresses


def check_name(host: str, allow_private: bool = False) -> None:
    """Refuse names that mean this machine, whatever they resolve to."""
    if allow_private:
        return
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        raise TargetRefused(f"The host {host!r} is this machine.")


def check(url: str, allow_private: bool = False) -> Target:
    """Parse, resolve once and check a target URL; the Target pins the address to connect to."""
    scheme, host, port, path = parse(url)
    check_name(host, allow_private)
    addresses = resolve(host, port)
    for address in addresses:
        reason = refusal(address, allow_private)
        if reason:
            shown = "" if str(address) == host else f" resolves to {address}, which is"
            raise TargetRefused(f"The host {host!r}{shown or ' is'} {reason}; hooks only go to public addresses.")
    return Target(scheme, host, port, path, str(addresses[0]))

