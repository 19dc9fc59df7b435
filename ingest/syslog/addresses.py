"""Listen addresses of the syslog worker: 'HOST:PORT', 'PORT', 'HOST', '[IPv6]:PORT'.

A missing or empty host means ``DEFAULT_HOST`` (loopback), never every interface: binding all
interfaces is something the operator writes out (``0.0.0.0:514`` or ``[::]:514``).
"""

from __future__ import annotations

import ipaddress
import re

DEFAULT_HOST = "127.0.0.1"
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$"
)


def parse_address(text: str, default_port: int = 514, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """'HOST:PORT', 'PORT', 'HOST', ':PORT', '[V6]:PORT' or '[V6]' -> (host, port); ValueError says what is wrong."""
    value = text.strip()
    if not value:
        raise ValueError("empty address (expected HOST:PORT, PORT or [IPv6]:PORT)")
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise ValueError(f"{text!r}: '[' without ']' (write IPv6 as [::1]:514)")
        host, rest = value[1:close], value[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected ':PORT' after ']'")
        port_text = rest[1:] if rest else ""
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IPv6 address") from None
        return host, _port(text, port_text, default_port)
    if value.count(":") > 1:
        raise ValueError(f"{text!r}: put an IPv6 address in brackets, e.g. [::1]:514")
    host, sep, port_text = value.rpartition(":")
    if not sep:
        if value.isdigit():  # a port alone
            return default_host, _port(text, value, default_port)
        host, port_text = value, ""
    elif not port_text:
        raise ValueError(f"{text!r}: missing port after ':'")
    if not host:
        host = default_host
    elif not _valid_host(host):
        raise ValueError(f"{text!r}: {host!r} is not an IPv4 address or host name")
    return host, _port(text, port_text, default_port)


def format_address(address: tuple) -> str:
    """(host, port) -> 'host:port', with brackets around an IPv6 host."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _port(text: str, port_text: str, default_port: int) -> int:
    if port_text == "":
        return default_port
    if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
        raise ValueError(f"{text!r}: port {port_text!r} is not a number from 0 to 65535")
    return int(port_text)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", host):  # digits and dots that are no IPv4 address (999.1.1.1)
        return False
    return bool(_HOSTNAME.match(host))
