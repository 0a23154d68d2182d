"""Which hosts a symbols server may send us to: one rule for every redirect we follow.

A symbols server answers code-info lookups and, like Tecken, often symbol downloads too with
a redirect (to its storage bucket or CDN). Following a redirect anywhere would let a server,
or whoever tampers with its answers, point the processor at internal hosts, so a redirect is
followed only to the server's own scheme and host, or over HTTP(S) to a configured trusted
host (``symbols.trusted_hosts``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit


def redirect_trusted(base: str, target: str, trusted_hosts: Iterable[str]) -> bool:
    """True when `target` (an absolute URL) has `base`'s scheme and host, or is an http(s) URL
    on one of `trusted_hosts` (compared without case)."""
    to, origin = urlsplit(target), urlsplit(base)
    if (to.scheme, to.netloc) == (origin.scheme, origin.netloc):
        return True
    trusted = {h.lower() for h in trusted_hosts}
    return to.scheme in ("http", "https") and (to.hostname or "") in trusted


def redirect_policy(base: str, trusted_hosts: Iterable[str]) -> Callable[[str], bool]:
    """`redirect_trusted` bound to one symbols server, as a fetch's redirect check."""
    hosts = frozenset(h.lower() for h in trusted_hosts)
    return lambda target: redirect_trusted(base, target, hosts)
