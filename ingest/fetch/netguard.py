"""SSRF guard: decide whether an address may be fetched.

Private, loopback, link-local, shared (CGNAT), multicast, reserved and unspecified
addresses are refused unless a configured network contains them. IPv6 addresses that
embed an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64 64:ff9b::/96) are judged by the
embedded address too, and names are resolved by the system (so `2130706433`, `0x7f.1` or
`localhost` end up as the loopback address they are). The check runs on every
resolved address of every hop (redirects included), and the client then
connects to the address that was checked, so a DNS answer that changes between
check and connect cannot smuggle a private address in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class NetworkGuard:
    def __init__(self, allow_networks: Iterable[str] = ()):
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in allow_networks]

    @staticmethod
    def _globally_routable(ip: IPAddress) -> bool:
        return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                     or ip.is_reserved or ip.is_unspecified)

    def is_public(self, ip: IPAddress) -> bool:
        inner = embedded_ipv4(ip)
        if inner is not None:  # a translation/tunnel address: it leads wherever its IPv4 address does
            return self._globally_routable(inner)
        return self._globally_routable(ip)

    def is_allowed(self, ip: IPAddress) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if any(ip.version == net.version and ip in net for net in self.allowed):
            return True
        return self.is_public(ip)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve a host name to its addresses (raises OSError when it does not resolve)."""
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        seen: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])  # (host, port[, flow, scope])
            if ip not in seen:
                seen.append(ip)
        return seen

    def check(self, host: str, port: int) -> IPAddress:
        """Return the first allowed address for host; raise PermissionError if any address is refused.

        Every address must pass: a name resolving to one public and one private
        address is refused, since the connection could land on either.
        """
        addresses = self.resolve(host, port)
        for ip in addresses:
            if not self.is_allowed(ip):
                raise PermissionError(
                    f"address {ip} of {host} is private/loopback; allow it with INGEST_ALLOW_NETWORKS "
                    "or fetch.allow_networks")
        return addresses[0]
