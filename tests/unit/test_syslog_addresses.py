"""Listen addresses of `rca ingest syslog`: a port alone, an empty host, IPv6, and bad values."""

from __future__ import annotations

import pytest

from ingest.syslog.listeners import parse_address


@pytest.mark.parametrize(
    "text, expected",
    [
        ("15536", ("127.0.0.1", 15536)),  # a port alone is the loopback default, not a host
        (":15535", ("127.0.0.1", 15535)),  # an empty host never means every interface
        ("0.0.0.0:514", ("0.0.0.0", 514)),
        ("10.1.2.3:6514", ("10.1.2.3", 6514)),
        ("logs.example.net:1514", ("logs.example.net", 1514)),
        ("localhost", ("localhost", 514)),
        ("[::1]:514", ("::1", 514)),
        ("[::]:5514", ("::", 5514)),
        ("[fe80::1]", ("fe80::1", 514)),
        (" 127.0.0.1:0 ", ("127.0.0.1", 0)),
    ],
)
def test_listen_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "empty address"),
        ("::1", "brackets"),
        ("[::1", "without ']'"),
        ("[::1]514", "':PORT' after ']'"),
        ("[10.0.0.1]:514", "not an IPv6 address"),
        ("127.0.0.1:", "missing port"),
        ("127.0.0.1:99999", "0 to 65535"),
        ("127.0.0.1:http", "'http' is not a number"),
        ("999.1.1.1:514", "not an IPv4 address or host name"),
        ("bad host:514", "not an IPv4 address or host name"),
        ("70000", "0 to 65535"),
    ],
)
def test_bad_addresses_get_one_line_naming_the_fault(text, says):
    with pytest.raises(ValueError) as caught:
        parse_address(text)
    message = str(caught.value)
    assert says in message and "\n" not in message
