"""The SCAIP XML codec: lenient <mrq> reading, strict <mrs> writing, hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import PayloadError
from plugins.alarms.scaip.models import Mrs
from plugins.alarms.scaip.xml import ScaipFormatError, build_mrs, parse_mrq, parse_mrs


def test_tr91102_worked_example_with_unpadded_codes() -> None:
    mrq = parse_mrq(b"<mrq><ref>1242</ref><cid>678</cid><dty>27</dty><stc>16</stc></mrq>")
    assert (mrq.ref, mrq.cid, mrq.dty, mrq.stc, mrq.mty) == ("1242", "678", 27, 16, "ME")


def test_padded_and_unpadded_codes_are_the_same_code() -> None:
    a = parse_mrq(b"<mrq><ref>1</ref><cid>1</cid><dty>0003</dty><stc>0010</stc></mrq>")
    b = parse_mrq(b"<mrq><ref>1</ref><cid>1</cid><dty>3</dty><stc>10</stc></mrq>")
    assert a == b


def test_any_order_whitespace_namespace_unknown_elements_and_repeated_crd() -> None:
    body = b"""  <?xml version="1.0" encoding="UTF-8"?>
    <mrq xmlns="http://www.hi.se/2012/XScaipXML">
      <stc> 9 </stc><crd>sip:678@unit</crd><crd>gsm:+4670000000</crd>
      <vendorthing>x</vendorthing>
      <dty>  0005</dty><cid>678</cid><ref> A1b2 </ref><mty>me</mty>
      <lco>12</lco><lva>3</lva><lge><geo>59.336111,18.072778</geo></lge>
    </mrq>"""
    mrq = parse_mrq(body)
    assert mrq.ref == "A1b2" and mrq.dty == 5 and mrq.stc == 9 and mrq.mty == "ME"
    assert mrq.crd == ("sip:678@unit", "gsm:+4670000000")
    assert mrq.lco == 12 and mrq.lva == "3"
    assert mrq.lge is not None and (mrq.lge.lat, mrq.lge.lon) == (59.336111, 18.072778)


@pytest.mark.parametrize(
    ("body", "snu", "words"),
    [
        (b"<mrq><cid>1</cid><dty>2</dty></mrq>", 10, "<ref>"),
        (b"<mrq><ref>7</ref><dty>2</dty></mrq>", 7, "<cid>"),
        (b"<mrq><ref>7</ref><cid>1</cid></mrq>", 7, "<dty>"),
        (b"<mrq><ref>7</ref><cid>1</cid><dty>two</dty></mrq>", 3, "'two'"),
        (b"<mrq><ref>7</ref><cid>1</cid><dty>2</dty><mty>XX</mty></mrq>", 3, "'XX'"),
        (b"<mrq><ref>7</ref><cid>1</cid><dty>2</dty><pri>12</pri></mrq>", 3, "<pri>"),
        (b"<mrs><ref>7</ref></mrs>", 2, "<mrs>"),
        (b"<mrq><ref>7</ref>", 2, "well-formed"),
        (b"<mrq><ref>7</ref><cid>1</cid><dty>2</dty><lge><geo>north</geo></lge></mrq>", 3,
         "'north'"),
    ],
)
def test_bad_requests_name_the_element_and_the_status_to_answer(
    body: bytes, snu: int, words: str
) -> None:
    with pytest.raises(ScaipFormatError) as err:
        parse_mrq(body)
    assert err.value.snu == snu
    assert words in str(err.value)
    assert isinstance(err.value, PayloadError)


def test_entity_expansion_and_dtds_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE mrq [<!ENTITY a "aaaaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><mrq><ref>&b;</ref></mrq>"""
    with pytest.raises(ScaipFormatError, match="forbidden XML"):
        parse_mrq(bomb)
    external = b'<!DOCTYPE mrq SYSTEM "file:///etc/passwd"><mrq><ref>1</ref></mrq>'
    with pytest.raises(ScaipFormatError):
        parse_mrq(external)


def test_oversized_body_is_refused_before_parsing() -> None:
    body = b"<mrq><ref>1</ref><cid>1</cid><dty>2</dty><ite>" + b"x" * 20000 + b"</ite></mrq>"
    with pytest.raises(ScaipFormatError, match="exceeds") as err:
        parse_mrq(body)
    assert err.value.snu == 1


def test_mrs_is_canonical_and_round_trips() -> None:
    mrs = Mrs("1243", 0, ste="ok & done", mre=1, cre=5, tnu=("gsm:+46701",), hbi=60)
    data = build_mrs(mrs)
    assert data == (b"<mrs><ref>1243</ref><snu>0</snu><ste>ok &amp; done</ste><mre>1</mre>"
                    b"<cre>05</cre><tnu>gsm:+46701</tnu><hbi>60</hbi></mrs>")
    assert parse_mrs(data) == mrs
    assert build_mrs(Mrs("1243", 4)) == b"<mrs><ref>1243</ref><snu>4</snu></mrs>"


def test_mrs_refuses_values_outside_the_standard() -> None:
    with pytest.raises(ValueError):
        build_mrs(Mrs("12 43", 0))
    with pytest.raises(ValueError):
        build_mrs(Mrs("1", 0, hbi=2000))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_request_or_a_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse_mrq(data)


_ELEMENT = st.sampled_from(["ref", "cid", "dty", "stc", "mty", "pri", "lco", "crd", "lge",
                            "ite", "hbo", "xyz"])
_VALUE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF,
                                        exclude_characters="<>&"), max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_ELEMENT, _VALUE), max_size=12))
def test_arbitrary_element_soup_gives_a_request_or_a_payload_error(
    items: list[tuple[str, str]]
) -> None:
    body = "<mrq>" + "".join(f"<{k}>{v}</{k}>" for k, v in items) + "</mrq>"
    try:
        mrq = parse_mrq(body.encode())
    except PayloadError:
        return
    assert mrq.ref and mrq.cid.isdigit()
