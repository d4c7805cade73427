"""Where responses and requests go: RFC 3261 §18.2.1/§18.2.2, RFC 3581 rport, Contact URIs."""

from __future__ import annotations

import pytest

from plugins.alarms.scaip import sip
from plugins.alarms.scaip.addressing import (
    Destination,
    parse_via,
    response_destination,
    stamp_via,
    uri_destination,
)

NAT = Destination("udp", "203.0.113.7", 40123)  # what the unit's packets arrive from


def _request(via: str) -> sip.SipMessage:
    return sip.SipMessage(method="MESSAGE", uri="sip:arc@navet", headers=[
        ("Via", via), ("From", "<sip:unit@x>;tag=1"), ("To", "<sip:arc@navet>"),
        ("Call-ID", "c"), ("CSeq", "1 MESSAGE")])


def test_received_is_added_when_sent_by_is_not_the_source() -> None:
    req = _request("SIP/2.0/UDP 192.168.1.20:5070;branch=z9hG4bKa")
    stamp_via(req, NAT)
    via = parse_via(req.get("Via"))
    assert via.param("received") == "203.0.113.7" and not via.has("rport")
    # §18.2.2: the received address, at the sent-by port (the unit did not ask for rport)
    assert response_destination(req, NAT) == ("203.0.113.7", 5070)


def test_an_empty_rport_is_filled_in_and_the_response_goes_to_the_source_port() -> None:
    req = _request("SIP/2.0/UDP 192.168.1.20:5070;rport;branch=z9hG4bKa")
    stamp_via(req, NAT)
    via = parse_via(req.get("Via"))
    assert via.param("rport") == "40123" and via.param("received") == "203.0.113.7"
    assert via.param("branch") == "z9hG4bKa"
    assert response_destination(req, NAT) == ("203.0.113.7", 40123)


def test_rport_sets_received_even_when_the_address_is_the_same() -> None:
    src = Destination("udp", "10.0.0.5", 5060)
    req = _request("SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKa")
    stamp_via(req, src)
    assert parse_via(req.get("Via")).param("received") == "10.0.0.5"  # RFC 3581 §4


def test_a_matching_sent_by_is_left_alone_and_its_port_defaults_to_5060() -> None:
    src = Destination("udp", "10.0.0.5", 33333)
    req = _request("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa")
    stamp_via(req, src)
    assert req.get("Via") == "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa"
    assert response_destination(req, src) == ("10.0.0.5", 5060)


def test_a_symmetric_unit_is_answered_at_its_source_whatever_its_via_says() -> None:
    req = _request("SIP/2.0/UDP 192.168.1.20:5070;branch=z9hG4bKa")
    stamp_via(req, NAT)
    assert response_destination(req, NAT, symmetric=True) == ("203.0.113.7", 40123)


def test_a_name_in_sent_by_never_becomes_the_destination() -> None:
    req = _request("SIP/2.0/UDP unit.example.org:5062;branch=z9hG4bKa")
    stamp_via(req, NAT)
    assert response_destination(req, NAT) == ("203.0.113.7", 5062)


def test_only_the_top_via_of_a_comma_separated_header_is_stamped() -> None:
    req = _request("SIP/2.0/UDP 192.168.1.20:5070;rport;branch=z9hG4bKa, "
                   "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKb")
    stamp_via(req, NAT)
    top, rest = req.get("Via").split(", ", 1)
    assert "rport=40123" in top and rest == "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKb"


def test_ipv6_sent_by() -> None:
    via = parse_via("SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bKa")
    assert (via.transport, via.host, via.port) == ("tcp", "2001:db8::1", 5080)
    assert via.encode() == "SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bKa"


def test_a_bad_via_is_refused_naming_it() -> None:
    with pytest.raises(sip.SipError, match="bad Via"):
        stamp_via(_request("nonsense"), NAT)


@pytest.mark.parametrize(("uri", "default", "want"), [
    ("sip:unit7@192.168.1.20:5070", "udp", Destination("udp", "192.168.1.20", 5070)),
    ("sip:unit7@192.168.1.20", "udp", Destination("udp", "192.168.1.20", 5060)),
    ("sip:unit7@10.0.0.1:5070;transport=TCP", "udp", Destination("tcp", "10.0.0.1", 5070)),
    ("sip:unit7@10.0.0.1;transport=tls", "udp", Destination("tls", "10.0.0.1", 5061)),
    ("sips:unit7@unit.example", "udp", Destination("tls", "unit.example", 5061)),
    ("sip:unit7@10.0.0.1:5070", "tcp", Destination("tcp", "10.0.0.1", 5070)),
    ("sip:[2001:db8::1]:5070", "udp", Destination("udp", "2001:db8::1", 5070)),
])
def test_contact_uri_to_destination(uri: str, default: str, want: Destination) -> None:
    assert uri_destination(uri, default_transport=default) == want


def test_a_contact_without_a_host_is_refused() -> None:
    with pytest.raises(sip.SipError, match="no host"):
        uri_destination("sip:unit7@")
