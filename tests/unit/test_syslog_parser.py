"""Parser: the RFC examples, the loghub samples, the common deviations, and arbitrary input."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.syslog.parser import RFC3164, RFC5424, UNPARSED, SyslogParser
from tests.unit.loghub_data import LOGHUB

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
parser = SyslogParser(now=NOW)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_rfc5424_example_1_with_bom_and_nil_procid():
    r = parser.parse(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        "\ufeff'su root' failed for lonvick on /dev/pts/8"
    )
    assert (r.format, r.facility, r.severity) == (RFC5424, 4, 2)
    assert r.timestamp == ts("2003-10-11T22:14:15.003+00:00")
    assert (r.hostname, r.app_name, r.proc_id, r.msg_id) == ("mymachine.example.com", "su", None, "ID47")
    assert r.message == "'su root' failed for lonvick on /dev/pts/8"


def test_rfc5424_example_2_offset_and_microseconds():
    r = parser.parse(
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts."
    )
    assert r.timestamp == ts("2003-08-24T05:14:15.000003-07:00")
    assert (r.hostname, r.app_name, r.proc_id, r.msg_id) == ("192.0.2.1", "myproc", "8710", None)
    assert r.message == "%% It's time to make the do-nuts."


def test_rfc5424_structured_data_with_escapes_and_no_message():
    r = parser.parse(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Appl\\"ic\\]a\\\\tion" eventID="1011"]'
        '[examplePriority@32473 class="high"]'
    )
    assert r.format == RFC5424 and r.message == ""
    assert r.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appl"ic]a\\tion', "eventID": "1011"},
        "examplePriority@32473": {"class": "high"},
    }


def test_rfc5424_all_nil():
    r = parser.parse("<13>1 - - - - - -")
    assert r.format == RFC5424 and r.timestamp is None and r.hostname is None and r.message == ""


def test_rfc3164_examples():
    r = parser.parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert (r.format, r.hostname, r.app_name, r.severity) == (RFC3164, "mymachine", "su", 2)
    assert r.timestamp == ts("2026-10-11T22:14:15+00:00")
    r = parser.parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!")
    assert (r.hostname, r.app_name, r.message) == ("10.0.0.99", None, "Use the BFG!")


def test_bsd_year_inference_around_new_year():
    january = SyslogParser(now=datetime(2027, 1, 1, 0, 5, tzinfo=UTC).timestamp())
    assert january.parse("<13>Dec 31 23:59:00 h app: x").timestamp == ts("2026-12-31T23:59:00+00:00")


def test_deviations():
    journald = parser.parse("<30>Nov 23 14:00:00 systemd[1]: Started foo.service: ok.")
    assert (journald.hostname, journald.app_name, journald.proc_id, journald.message) == (
        None,
        "systemd",
        "1",
        "Started foo.service: ok.",
    )
    busybox = parser.parse("<13>Jan  1 00:00:00 myhost user.notice root: hi there")
    assert (busybox.hostname, busybox.app_name, busybox.message) == ("myhost", "root", "hi there")
    cisco = parser.parse("<189>123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console by vty2")
    assert (cisco.facility, cisco.severity, cisco.app_name, cisco.message) == (
        23,
        5,
        "%SYS-5-CONFIG_I",
        "Configured from console by vty2",
    )
    assert cisco.timestamp == ts("2026-03-01T18:48:50.483+00:00")
    asa = parser.parse("<166>Jan 05 2024 10:00:00 asa01 : %ASA-6-302013: Built outbound")
    assert (asa.hostname, asa.app_name, asa.timestamp) == ("asa01", "%ASA-6-302013", ts("2024-01-05T10:00:00+00:00"))
    iso = parser.parse("<13>2024-01-01T10:00:00.123+01:00 host tag[12]: msg here")
    assert (iso.format, iso.hostname, iso.app_name, iso.proc_id, iso.timestamp) == (
        RFC3164,
        "host",
        "tag",
        "12",
        ts("2024-01-01T10:00:00.123+01:00"),
    )


def test_lines_that_fit_no_format_are_kept_raw():
    for line in ["garbage", "", "<999>1 x", "<13>1 2003-13-45T99:99:99Z h a - - - m", "Jun 14 15:16:01 x"]:
        r = parser.parse(line)
        assert r.format == UNPARSED and r.raw == line


def _loghub(name: str):
    rows = list(csv.DictReader((LOGHUB / name / f"{name}_2k.log_structured.csv").open()))
    lines = [line.rstrip("\n") for line in (LOGHUB / name / f"{name}_2k.log").open()]
    return rows, lines


def test_every_loghub_line_parses_with_the_fields_of_the_ground_truth():
    for name, host_col, comp_col, pid_col in (("Linux", "Level", "Component", "PID"), ("OpenSSH", None, None, "Pid")):
        rows, lines = _loghub(name)
        assert len(rows) == len(lines) == 2000
        for row, line in zip(rows, lines):
            r = parser.parse(line)
            assert r.format == RFC3164, line
            assert r.message.strip() == row["Content"].strip(), line
            assert (r.proc_id or "") == row[pid_col], line
            if comp_col:  # loghub keeps login's "-- " marker in the component; we drop it from the tag
                assert r.app_name == row[comp_col].removeprefix("-- ") and r.hostname == row[host_col], line


def test_hand_checked_sample():
    r = parser.parse("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186")
    assert (r.hostname, r.app_name, r.proc_id, r.message) == (
        "LabSZ",
        "sshd",
        "24200",
        "Invalid user webmaster from 173.234.31.186",
    )
    r = parser.parse("Jun 19 04:09:11 combo syslogd 1.4.1: restart.")
    assert (r.hostname, r.app_name, r.message) == ("combo", "syslogd 1.4.1", "restart.")
    r = parser.parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown")
    assert (r.hostname, r.app_name, r.proc_id, r.message) == (
        "combo",
        "sshd(pam_unix)",
        "19939",
        "check pass; user unknown",
    )


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    r = parser.parse_bytes(data)
    assert r.format in (RFC5424, RFC3164, UNPARSED)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('<>1234567890 -[]="\\:TZ.abcJanOct'), max_size=120))
def test_syslog_like_text_never_raises(text):
    assert parser.parse(text).raw == text.rstrip("\r\n\x00")
