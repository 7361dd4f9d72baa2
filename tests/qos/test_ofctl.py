"""What ovs-ofctl and tc print, read into data (samples copied from OVS 3.1 and iproute2 on the lab)."""

from __future__ import annotations

import pytest

from stackrig.qos.backends import _ofctl as ofc
from stackrig.qos.backends.ovs import COOKIE_TAG, flow_line, is_ours
from stackrig.qos.model import Action, Match, Policy
from stackrig.qos.queues import parse_tc_classes

DUMP_FLOWS = """OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x570092b859ccd7e2, duration=1.048s, table=0, n_packets=0, n_bytes=0, priority=40000,udp,in_port=1,dl_vlan=10,nw_src=10.0.0.0/24,tp_dst=53 actions=meter:1,NORMAL
 cookie=0x5700681036f8ae6b, duration=0.684s, table=0, n_packets=0, n_bytes=0, priority=40000,icmp,nw_tos=40 actions=set_field:46->ip_dscp,NORMAL
 cookie=0x5700ec04582f2fea, duration=0.352s, table=0, n_packets=12, n_bytes=3400, priority=7,tcp,nw_dst=10.0.0.2,tp_src=80 actions=set_queue:3,output:2
 cookie=0x0, duration=1.699s, table=0, n_packets=6, n_bytes=512, priority=0 actions=NORMAL
"""  # noqa: E501 - verbatim ovs-ofctl output

POLICIES = [
    Policy(
        "m",
        "0000000000000001",
        Match.from_dict({"in_port": 1, "ipv4_src": "10.0.0.0/24", "udp_dst": 53, "vlan": 10}),
        Action.meter("1500k"),
    ),
    Policy("d", "0000000000000001", Match.from_dict({"dscp": 10, "ip_proto": 1}), Action.set_dscp(46)),
    Policy(
        "q",
        "0000000000000001",
        Match.from_dict({"ipv4_dst": "10.0.0.2", "tcp_src": 80}),
        Action.enqueue(3, 2),
        priority=7,
    ),
]


def test_dump_flows_parse_with_counters() -> None:
    flows = ofc.parse_flows(DUMP_FLOWS)
    assert [f.cookie for f in flows] == [0x570092B859CCD7E2, 0x5700681036F8AE6B, 0x5700EC04582F2FEA, 0]
    queue = flows[2]
    assert (queue.priority, queue.n_packets, queue.n_bytes, queue.table) == (7, 12, 3400, 0)
    assert queue.match == {"dl_type": "2048", "nw_proto": "6", "nw_dst": "10.0.0.2", "tp_src": "80"}
    assert queue.actions == ("set_queue:3", "output:2")
    assert flows[0].meter == 1
    assert flows[1].meter is None
    assert flows[3].match == {}
    assert [is_ours(f.cookie) for f in flows] == [True, True, True, False]
    assert is_ours(COOKIE_TAG | 5)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_what_we_write_is_what_ovs_prints(index: int) -> None:
    """flow_line's text and OVS's own spelling of the same flow compare equal (tcp vs nw_proto=6,
    tp_dst vs tcp_dst, nw_tos=40 vs ip_dscp=10, set_field vs mod_nw_tos)."""
    printed = ofc.parse_flows(DUMP_FLOWS)[index]
    meter = 1 if index == 0 else None
    written = ofc.parse_flow(flow_line(POLICIES[index], printed.cookie, meter))
    assert written is not None
    assert printed.same_rule(written)
    other = ofc.parse_flows(DUMP_FLOWS)[(index + 1) % 3]
    assert not other.same_rule(written)


def test_canonical_forms() -> None:
    assert ofc.canonical_match(["ip", "ip_dscp=46", "eth_type=0x0800", "nw_src=10.0.0.1/32"]) == {
        "dl_type": "2048",
        "nw_tos": "184",
        "nw_src": "10.0.0.1",
    }
    assert ofc.canonical_actions("mod_nw_tos:184,normal") == ofc.canonical_actions(
        "set_field:46->ip_dscp,NORMAL"
    )
    assert ofc.canonical_actions("2") == ("output:2",)
    assert ofc.parse_flow("OFPST_FLOW reply (OF1.3) (xid=0x2):") is None
    assert ofc.parse_flow("cookie=zz, priority=1 actions=drop") is None


def test_meters_and_their_statistics() -> None:
    config = ofc.parse_meters(
        "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\nmeter=1 kbps bands=\ntype=drop rate=1500\n"
    )
    assert config == {1: ofc.MeterConfig(1, "kbps", 1500, "drop")}
    stats = ofc.parse_meter_stats(
        "OFPST_METER reply (OF1.3) (xid=0x2):\n"
        "meter:1 flow_count:1 packet_in_count:6888 byte_in_count:977232 duration:2.550s bands:\n"
        "0: packet_count:1856 byte_count:263552\n"
        "meter:2 flow_count:0 packet_in_count:0 byte_in_count:0 duration:0.1s bands:\n"
        "0: packet_count:0 byte_count:0\n"
    )
    assert stats[1] == ofc.MeterStats(1, 1, 6888, 977232, 1856, 263552)
    assert stats[2].dropped_packets == 0


def test_queue_statistics() -> None:
    text = """OFPST_QUEUE reply (OF1.3) (xid=0x2): 3 queues
  port 1 queue 7: bytes=0, pkts=0, errors=0, duration=2514614843.045s
  port 1 queue 0: bytes=4869875, pkts=61138, errors=0, duration=3560797776.163s
  port LOCAL queue 1: bytes=10, pkts=1, errors=2, duration=1.0s
"""
    stats = ofc.parse_queue_stats(text)
    assert stats[("1", 0)] == ofc.QueueStats("1", 0, 4869875, 61138, 0)
    assert stats[("LOCAL", 1)].errors == 2
    assert len(stats) == 3


def test_tc_classes() -> None:
    text = """class htb 1:8 parent 1:fffe prio 0 rate 12Kbit ceil 3Mbit burst 1563b cburst 1563b
class htb 1:fffe root rate 1Gbit ceil 1Gbit burst 1375b cburst 1375b
class htb 1:1 parent 1:fffe prio 0 rate 12Kbit ceil 1Gbit burst 1563b cburst 1500b
class htb 1:2 parent 1:fffe prio 0 rate 12Kbit ceil 1500Kbit burst 1563b cburst 1563b
class htb 1:3 parent 1:fffe prio 0 rate 800bit ceil 1.5Tbit burst 1563b cburst 1563b
"""
    classes = parse_tc_classes(text)
    assert classes["1:8"] == (12_000, 3_000_000)
    assert classes["1:fffe"] == (10**9, 10**9)
    assert classes["1:2"] == (12_000, 1_500_000)
    assert classes["1:3"] == (800, 1_500_000_000_000)
