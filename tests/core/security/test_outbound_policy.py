"""The outbound policy judges addresses and host names (gateway/core/security/outbound).

Always refused: cloud metadata, link-local, the unspecified address, multicast and
Navet's own listeners, in every spelling (IPv4-mapped IPv6, NAT64, 6to4, legacy numeric
IPv4). Loopback and private ranges only when the settings allow them.
"""

from __future__ import annotations

import ipaddress

import pytest

from gateway import OutboundPolicy, OutboundRefused
from gateway.core.security.outbound import OutboundSettings
from gateway.core.settings import Settings

STRICT = OutboundPolicy()
OPEN = OutboundPolicy(OutboundSettings(allow_loopback=True, allow_private=True))


@pytest.mark.parametrize(("host", "why"), [
    ("169.254.169.254", "cloud metadata"),
    ("metadata.google.internal", "cloud metadata"),
    ("METADATA.GOOGLE.INTERNAL.", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),               # inside fc00::/7, which OPEN allows
    ("100.100.100.200", "cloud metadata"),             # inside 100.64.0.0/10
    ("169.254.170.2", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("[fe80::1%25eth0]", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "not a unicast"),
    ("2852039166", "legacy numeric form of 169.254.169.254"),        # decimal
    ("0251.0376.0251.0376", "legacy numeric form of 169.254.169.254"),  # octal
    ("0xa9fea9fe", "legacy numeric form of 169.254.169.254"),        # hexadecimal
    ("169.254.43518", "legacy numeric form of 169.254.169.254"),     # two parts
    ("::ffff:169.254.169.254", "IPv4-mapped IPv6 form of 169.254.169.254"),
    ("[::ffff:a9fe:a9fe]", "IPv4-mapped IPv6 form of 169.254.169.254"),
    ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
    ("2002:a9fe:a9fe::1", "6to4 form of 169.254.169.254"),
])
def test_never_allowed_whatever_the_settings(host: str, why: str) -> None:
    for policy in (STRICT, OPEN):
        with pytest.raises(OutboundRefused) as caught:
            policy.check_host(host, 80)
        assert why in caught.value.reason


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost",
                                  "app.localhost", "017700000001", "::ffff:127.0.0.1",
                                  "10.1.2.3", "172.20.0.1", "192.168.1.1", "100.64.0.1",
                                  "fd12:3456::1", "::ffff:10.0.0.1"])
def test_loopback_and_private_only_when_allowed(host: str) -> None:
    with pytest.raises(OutboundRefused) as caught:
        STRICT.check_host(host, 443)
    assert "outbound.allow" in caught.value.reason  # the message says how to allow it
    if "legacy" not in caught.value.reason:
        OPEN.check_host(host, 443)


def test_a_legacy_numeric_form_of_an_allowed_address_is_refused_as_ambiguous() -> None:
    with pytest.raises(OutboundRefused, match="usual form"):
        OPEN.check_host("0x7f.1", 80)


def test_public_addresses_and_names_pass_the_static_check() -> None:
    assert STRICT.check_host("93.184.215.14", 443) == ipaddress.ip_address("93.184.215.14")
    assert STRICT.check_host("2a00:1450:4001::1", 443) is not None
    assert STRICT.check_host("larmcentral.example.se", 443) is None  # judged after DNS


def test_allow_list_opens_one_network_and_deny_closes_one() -> None:
    policy = OutboundPolicy(OutboundSettings(allow=["10.20.0.0/16", "127.0.0.2/32"],
                                             deny=["93.184.0.0/16"]))
    policy.check_host("10.20.3.4", 5060)
    policy.check_host("127.0.0.2", 8080)
    with pytest.raises(OutboundRefused, match="private"):
        policy.check_host("10.21.0.1", 5060)
    with pytest.raises(OutboundRefused, match="loopback"):
        policy.check_host("127.0.0.1", 8080)
    with pytest.raises(OutboundRefused, match=r"outbound\.deny"):
        policy.check_host("93.184.215.14", 443)
    # an allow list never opens what is always refused
    wide = OutboundPolicy(OutboundSettings(allow=["169.254.0.0/16", "::/0", "0.0.0.0/0"]))
    for host in ("169.254.169.254", "fe80::1", "0.0.0.0"):
        with pytest.raises(OutboundRefused):
            wide.check_host(host, 80)


def test_settings_refuse_what_is_not_a_network() -> None:
    with pytest.raises(ValueError, match="not a network in CIDR form"):
        OutboundSettings(allow=["10.0.0.0/33"])


def test_navets_own_listeners_are_refused_even_when_loopback_is_allowed(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, http={"host": "127.0.0.1", "port": 18080},
                        mqtt={"mode": "embedded", "port": 18830},
                        outbound={"allow_loopback": True, "allow_private": True})
    policy = OutboundPolicy.from_settings(settings)
    policy.add_listener("0.0.0.0", 5060, "the scaip listener of scaip-vasteras")
    for host, port, what in (("127.0.0.1", 18080, "HTTP API"), ("localhost", 18080, "HTTP"),
                             ("127.0.0.2", 18080, "HTTP API"), ("::1", 18830, "MQTT"),
                             ("127.0.0.1", 5060, "scaip listener")):
        with pytest.raises(OutboundRefused) as caught:
            policy.check_host(host, port)
        assert what in caught.value.reason and "own listener" in caught.value.reason
    policy.check_host("127.0.0.1", 18081)  # another port on this machine: allowed here
    policy.check_host("10.0.0.9", 18080)    # the same port on another machine: allowed


@pytest.mark.parametrize("url", ["ftp://example.se/x", "file:///etc/passwd",
                                 "gopher://127.0.0.1:25/", "http://[::1", "https://"])
def test_urls_need_an_http_scheme_and_a_host(url: str) -> None:
    with pytest.raises(OutboundRefused):
        OPEN.check_url(url)


def test_url_ports_default_by_scheme() -> None:
    assert OPEN.check_url("https://larm.example.se/hook") == ("larm.example.se", 443)
    assert OPEN.check_url("http://larm.example.se:8443/hook") == ("larm.example.se", 8443)
