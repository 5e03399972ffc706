"""Record what the real ``ipset`` (7.17) does, each case in a fresh network namespace.

Writes ``tests/data/ipset.jsonl``: one case a line, with ``id``, ``desc``, ``pre``
(argv run first, ipset or iptables), ``cmd`` (argv), ``stdin`` (restore input or
null), ``rc``, ``stdout``, ``stderr``, ``after`` (``ipset save`` afterwards) and
``backend`` ("nft"/"legacy" for cases that run iptables, else null). Output is masked
with ``tests/ipset_data.py``'s ``mask`` (random initval, ``Size in memory``, elements'
remaining timeouts). Needs root; never touches the host's own namespace.

    python3 ci/record_ipset.py [--out tests/data/ipset.jsonl] [--only ID_SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ipset_data import DATA, mask  # noqa: E402

Case = Dict[str, Any]
CASES: List[Case] = []


def case(
    id: str,
    desc: str,
    cmd: str,
    pre: Tuple[str, ...] = (),
    stdin: Optional[str] = None,
    backend: Optional[str] = None,
) -> None:
    CASES.append(
        {
            "id": id,
            "desc": desc,
            "pre": [shlex.split(p) for p in pre],
            "cmd": shlex.split(cmd),
            "stdin": stdin,
            "backend": backend,
        }
    )


# ---------------------------------------------------------------- create / save per type
V4 = "192.0.2.1"
case(
    "create_hash_ip",
    "hash:ip with defaults: save adds family, hashsize, maxelem, bucketsize",
    "ipset create A hash:ip",
)
case("create_hash_ip_inet6", "family inet6", "ipset create A hash:ip family inet6")
case(
    "create_hash_ip_options",
    "every option a hash set takes",
    "ipset create A hash:ip family inet hashsize 64 maxelem 10 timeout 600 counters comment "
    "initval 0x12345678",
)
case(
    "create_hash_ip_hashsize_rounds",
    "hashsize is rounded up to a power of two",
    "ipset create A hash:ip hashsize 1000",
)
case(
    "create_hash_ip_hashsize_small",
    "hashsize below 64 becomes 64",
    "ipset create A hash:ip hashsize 3",
)
case("create_hash_ip_netmask", "hash:ip netmask", "ipset create A hash:ip netmask 24")
case("create_hash_ip_bucketsize", "bucketsize given", "ipset create A hash:ip bucketsize 4")
case("create_hash_ip_skbinfo", "skbinfo option", "ipset create A hash:ip skbinfo")
case("create_hash_ip_family_any", "family inet6 spelled -6 style", "ipset create A hash:ip -6")
case("create_hash_net", "hash:net defaults", "ipset create A hash:net")
case("create_hash_net6", "hash:net inet6", "ipset create A hash:net family inet6 timeout 0")
case("create_hash_ip_port", "hash:ip,port defaults", "ipset create A hash:ip,port")
case("create_hash_net_port", "hash:net,port defaults", "ipset create A hash:net,port")
case("create_hash_ip_port_ip", "hash:ip,port,ip defaults", "ipset create A hash:ip,port,ip")
case("create_bitmap_port", "bitmap:port with a range", "ipset create A bitmap:port range 1000-2000")
case(
    "create_bitmap_port_opts",
    "bitmap:port with timeout, counters, comment",
    "ipset create A bitmap:port range 0-1023 timeout 60 counters comment",
)
case("create_bitmap_port_norange", "bitmap:port without range", "ipset create A bitmap:port")
case("create_list_set", "list:set defaults", "ipset create A list:set")
case(
    "create_list_set_opts",
    "list:set with size and timeout",
    "ipset create A list:set size 4 timeout 30 counters comment",
)
case(
    "create_existing",
    "create a set that exists",
    "ipset create A hash:ip",
    pre=("ipset create A hash:ip",),
)
case(
    "create_existing_exist_same",
    "-exist create, same options: no error",
    "ipset -exist create A hash:ip",
    pre=("ipset create A hash:ip",),
)
case(
    "create_existing_bang_same",
    "-! create, same options",
    "ipset -! create A hash:ip maxelem 5",
    pre=("ipset create A hash:ip maxelem 5",),
)
case(
    "create_existing_exist_different",
    "-exist create with other options is refused",
    "ipset -exist create A hash:ip maxelem 5",
    pre=("ipset create A hash:ip",),
)
case(
    "create_existing_exist_other_type",
    "-exist create with another type is refused",
    "ipset -exist create A hash:net",
    pre=("ipset create A hash:ip",),
)
case("create_unknown_type", "unknown type", "ipset create A foo:bar")
case("create_no_type", "create without a type", "ipset create A")
case("create_no_args", "create without a name", "ipset create")
case("create_bad_option", "option the type lacks", "ipset create A hash:ip range 1-2")
case("create_bad_family", "bad family", "ipset create A hash:ip family inet7")
case("create_bad_hashsize", "hashsize not a number", "ipset create A hash:ip hashsize x")
case("create_name_too_long", "a 32-character name", "ipset create " + "N" * 32 + " hash:ip")
case("create_name_31", "a 31-character name", "ipset create " + "N" * 31 + " hash:ip")
case("create_alias_n", "the n alias", "ipset n A hash:ip")
case("create_alias_c", "the -N/-c style old alias", "ipset -N A hash:ip")
case(
    "create_bitmap_port_range_too_big",
    "bitmap:port range reversed",
    "ipset create A bitmap:port range 2000-1000",
)

# ---------------------------------------------------------------- elements
case("add_ip", "add an IPv4 address", f"ipset add A {V4}", pre=("ipset create A hash:ip",))
case(
    "add_ip_existing",
    "add an element present",
    f"ipset add A {V4}",
    pre=("ipset create A hash:ip", f"ipset add A {V4}"),
)
case(
    "add_ip_existing_exist",
    "-exist add of a present element",
    f"ipset -exist add A {V4}",
    pre=("ipset create A hash:ip", f"ipset add A {V4}"),
)
case(
    "add_ip_range",
    "a range into hash:ip expands",
    "ipset add A 192.0.2.1-192.0.2.4",
    pre=("ipset create A hash:ip",),
)
case(
    "add_ip_cidr",
    "a CIDR into hash:ip expands",
    "ipset add A 192.0.2.8/30",
    pre=("ipset create A hash:ip",),
)
case(
    "add_ip_cidr32",
    "a /32 into hash:ip",
    "ipset add A 192.0.2.8/32",
    pre=("ipset create A hash:ip",),
)
case(
    "add_ip_netmask",
    "hash:ip netmask 24 stores the network",
    "ipset add A 192.0.2.77",
    pre=("ipset create A hash:ip netmask 24",),
)
case(
    "add_ip_range_overlap",
    "a range overlapping a present element",
    "ipset add A 192.0.2.1-192.0.2.3",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.2"),
)
case(
    "add_ip_range_overlap_exist",
    "-exist range overlapping a present element",
    "ipset -exist add A 192.0.2.1-192.0.2.3",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.2"),
)
case(
    "add_ip6",
    "an IPv6 address in an inet6 set",
    "ipset add A 2001:db8::1",
    pre=("ipset create A hash:ip family inet6",),
)
case(
    "add_ip6_long",
    "IPv6 printed compressed",
    "ipset add A 2001:0db8:0000:0000:0000:0000:0000:0010",
    pre=("ipset create A hash:ip family inet6",),
)
case(
    "add_ip6_into_inet",
    "an IPv6 element in an inet set",
    "ipset add A 2001:db8::1",
    pre=("ipset create A hash:ip",),
)
case(
    "add_ip4_into_inet6",
    "an IPv4 element in an inet6 set",
    f"ipset add A {V4}",
    pre=("ipset create A hash:ip family inet6",),
)
case("add_ip_garbage", "not an address", "ipset add A foo", pre=("ipset create A hash:ip",))
case(
    "add_ip6_range",
    "a range in an inet6 hash:ip",
    "ipset add A 2001:db8::1-2001:db8::3",
    pre=("ipset create A hash:ip family inet6",),
)
case(
    "add_ip6_cidr",
    "a CIDR in an inet6 hash:ip",
    "ipset add A 2001:db8::/126",
    pre=("ipset create A hash:ip family inet6",),
)
case("add_missing_set", "add to a missing set", f"ipset add Z {V4}")
case("add_no_element", "add without an element", "ipset add A", pre=("ipset create A hash:ip",))
case(
    "add_extra_arg",
    "add with a stray argument",
    f"ipset add A {V4} foo",
    pre=("ipset create A hash:ip",),
)
case(
    "add_timeout",
    "element timeout",
    f"ipset add A {V4} timeout 3600",
    pre=("ipset create A hash:ip timeout 600",),
)
case(
    "add_timeout_default",
    "element takes the set's timeout",
    f"ipset add A {V4}",
    pre=("ipset create A hash:ip timeout 600",),
)
case(
    "add_timeout_zero",
    "timeout 0 is permanent",
    f"ipset add A {V4} timeout 0",
    pre=("ipset create A hash:ip timeout 600",),
)
case(
    "add_timeout_no_support",
    "timeout on a set without timeout",
    f"ipset add A {V4} timeout 30",
    pre=("ipset create A hash:ip",),
)
case(
    "add_comment",
    "element comment",
    f'ipset add A {V4} comment "hello world"',
    pre=("ipset create A hash:ip comment",),
)
case(
    "add_comment_no_support",
    "comment on a set without comment",
    f"ipset add A {V4} comment x",
    pre=("ipset create A hash:ip",),
)
case(
    "add_counters",
    "packets and bytes",
    f"ipset add A {V4} packets 1 bytes 2",
    pre=("ipset create A hash:ip counters",),
)
case(
    "add_counters_default",
    "counters start at 0",
    f"ipset add A {V4}",
    pre=("ipset create A hash:ip counters",),
)
case(
    "add_counters_no_support",
    "packets on a set without counters",
    f"ipset add A {V4} packets 1",
    pre=("ipset create A hash:ip",),
)
case(
    "add_all_extensions",
    "timeout, counters and comment together",
    f'ipset add A {V4} timeout 3600 packets 5 bytes 6 comment "c"',
    pre=("ipset create A hash:ip timeout 600 counters comment",),
)
case(
    "add_maxelem_full",
    "maxelem reached",
    "ipset add A 192.0.2.3",
    pre=("ipset create A hash:ip maxelem 2", "ipset add A 192.0.2.1", "ipset add A 192.0.2.2"),
)
case(
    "add_maxelem_range",
    "a range past maxelem",
    "ipset add A 192.0.2.1-192.0.2.4",
    pre=("ipset create A hash:ip maxelem 2",),
)
case(
    "add_maxelem_full_existing",
    "maxelem reached, adding a present element",
    "ipset add A 192.0.2.1",
    pre=("ipset create A hash:ip maxelem 2", "ipset add A 192.0.2.1", "ipset add A 192.0.2.2"),
)
case(
    "net_add",
    "hash:net CIDRs, /32 and a range",
    "ipset add A 198.51.100.0/24",
    pre=("ipset create A hash:net", "ipset add A 192.0.2.1/32", "ipset add A 203.0.113.5"),
)
case(
    "net_add_range",
    "a range into hash:net becomes CIDRs",
    "ipset add A 203.0.113.5-203.0.113.9",
    pre=("ipset create A hash:net",),
)
case(
    "net_add_host_bits",
    "host bits are cleared",
    "ipset add A 192.0.2.77/24",
    pre=("ipset create A hash:net",),
)
case("net_add_zero", "a /0 in hash:net", "ipset add A 0.0.0.0/0", pre=("ipset create A hash:net",))
case(
    "net_add_nomatch",
    "nomatch element",
    "ipset add A 192.0.2.0/28 nomatch",
    pre=("ipset create A hash:net",),
)
case(
    "net_add6",
    "IPv6 nets",
    "ipset add A 2001:db8::/64",
    pre=("ipset create A hash:net family inet6", "ipset add A 2001:db8:1::1"),
)
case(
    "net_test_contained",
    "test an address inside a net",
    "ipset test A 192.0.2.9",
    pre=("ipset create A hash:net", "ipset add A 192.0.2.0/24"),
)
case(
    "net_test_nomatch",
    "test an address in a nomatch net",
    "ipset test A 192.0.2.9",
    pre=("ipset create A hash:net", "ipset add A 192.0.2.0/24", "ipset add A 192.0.2.8/29 nomatch"),
)
case(
    "net_test_net",
    "test a net",
    "ipset test A 192.0.2.0/24",
    pre=("ipset create A hash:net", "ipset add A 192.0.2.0/24"),
)
case(
    "net_del_missing",
    "del a net not in the set",
    "ipset del A 192.0.2.0/25",
    pre=("ipset create A hash:net", "ipset add A 192.0.2.0/24"),
)
case("net_add_bad_cidr", "cidr 33", "ipset add A 192.0.2.0/33", pre=("ipset create A hash:net",))
case(
    "ipport_add",
    "hash:ip,port: default proto tcp, udp, a port range, icmp",
    "ipset add A 192.0.2.2,tcp:1-3",
    pre=(
        "ipset create A hash:ip,port",
        "ipset add A 192.0.2.1,80",
        "ipset add A 192.0.2.1,udp:53",
        "ipset add A 192.0.2.3,icmp:ping",
        "ipset add A 192.0.2.4,sctp:9",
    ),
)
case(
    "ipport_add_service_name",
    "a service name as port",
    "ipset add A 192.0.2.1,http",
    pre=("ipset create A hash:ip,port",),
)
case(
    "ipport_add_proto_number",
    "a protocol without ports",
    "ipset add A 192.0.2.1,gre:0",
    pre=("ipset create A hash:ip,port",),
)
case(
    "ipport_add_no_port",
    "hash:ip,port element without a port",
    "ipset add A 192.0.2.1",
    pre=("ipset create A hash:ip,port",),
)
case(
    "ipport_add_bad_proto",
    "unknown protocol",
    "ipset add A 192.0.2.1,foo:80",
    pre=("ipset create A hash:ip,port",),
)
case(
    "ipport_add_bad_port",
    "port out of range",
    "ipset add A 192.0.2.1,70000",
    pre=("ipset create A hash:ip,port",),
)
case(
    "ipport_add6",
    "hash:ip,port inet6",
    "ipset add A 2001:db8::1,udp:53",
    pre=("ipset create A hash:ip,port family inet6",),
)
case(
    "ipport_test",
    "test ip,port",
    "ipset test A 192.0.2.1,80",
    pre=("ipset create A hash:ip,port", "ipset add A 192.0.2.1,tcp:80"),
)
case(
    "ipport_test_other_proto",
    "test ip,port with another proto",
    "ipset test A 192.0.2.1,udp:80",
    pre=("ipset create A hash:ip,port", "ipset add A 192.0.2.1,tcp:80"),
)
case(
    "ipport_del",
    "del ip,port",
    "ipset del A 192.0.2.1,80",
    pre=("ipset create A hash:ip,port", "ipset add A 192.0.2.1,tcp:80"),
)
case(
    "netport_add",
    "hash:net,port",
    "ipset add A 192.0.2.0/24,udp:53 nomatch",
    pre=(
        "ipset create A hash:net,port",
        "ipset add A 198.51.100.0/24,80",
        "ipset add A 203.0.113.1,tcp:22",
    ),
)
case(
    "ipportip_add",
    "hash:ip,port,ip",
    "ipset add A 192.0.2.1,udp:53,198.51.100.1",
    pre=("ipset create A hash:ip,port,ip", "ipset add A 192.0.2.1,80,198.51.100.2"),
)
case(
    "ipportip_add_cidr_last",
    "hash:ip,port,ip last part a CIDR",
    "ipset add A 192.0.2.1,80,198.51.100.0/24",
    pre=("ipset create A hash:ip,port,ip",),
)
case(
    "ipportip_add_short",
    "hash:ip,port,ip with two parts",
    "ipset add A 192.0.2.1,80",
    pre=("ipset create A hash:ip,port,ip",),
)
case(
    "bitmap_port_add",
    "bitmap:port: numbers, tcp:, ranges",
    "ipset add A 1005-1007",
    pre=("ipset create A bitmap:port range 1000-2000", "ipset add A 1001", "ipset add A tcp:1002"),
)
case(
    "bitmap_port_add_out_of_range",
    "port outside the bitmap",
    "ipset add A 80",
    pre=("ipset create A bitmap:port range 1000-2000",),
)
case(
    "bitmap_port_add_existing",
    "add a present port",
    "ipset add A 1001",
    pre=("ipset create A bitmap:port range 1000-2000", "ipset add A 1001"),
)
case(
    "bitmap_port_udp",
    "bitmap:port with udp:",
    "ipset add A udp:1003",
    pre=("ipset create A bitmap:port range 1000-2000",),
)
case(
    "bitmap_port_ext",
    "bitmap:port element timeout/counters/comment",
    'ipset add A 22 timeout 3600 packets 3 bytes 4 comment "ssh"',
    pre=("ipset create A bitmap:port range 0-1023 timeout 60 counters comment",),
)
case(
    "list_set_add",
    "list:set members",
    "ipset add A C",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:net",
        "ipset add A B",
    ),
)
case(
    "list_set_add_missing",
    "list:set member that does not exist",
    "ipset add A Z",
    pre=("ipset create A list:set",),
)
case(
    "list_set_add_before",
    "list:set add ... before",
    "ipset add A C before B",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset add A B",
    ),
)
case(
    "list_set_add_after",
    "list:set add ... after",
    "ipset add A D after B",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset create D hash:ip",
        "ipset add A B",
        "ipset add A C",
    ),
)
case(
    "list_set_add_self", "a list:set into itself", "ipset add A A", pre=("ipset create A list:set",)
)
case(
    "list_set_add_list",
    "a list:set into another list:set",
    "ipset add A B",
    pre=("ipset create A list:set", "ipset create B list:set"),
)
case(
    "list_set_full",
    "list:set size reached",
    "ipset add A D",
    pre=(
        "ipset create A list:set size 2",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset create D hash:ip",
        "ipset add A B",
        "ipset add A C",
    ),
)
case(
    "list_set_destroy_member",
    "destroy a set a list:set holds",
    "ipset destroy B",
    pre=("ipset create A list:set", "ipset create B hash:ip", "ipset add A B"),
)
case(
    "list_set_test",
    "test a member",
    "ipset test A B",
    pre=("ipset create A list:set", "ipset create B hash:ip", "ipset add A B"),
)
case(
    "list_set_test_absent",
    "test a set that is not a member",
    "ipset test A C",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset add A B",
    ),
)
case(
    "list_set_list",
    "list a list:set",
    "ipset list A",
    pre=("ipset create A list:set", "ipset create B hash:ip", "ipset add A B"),
)

# ---------------------------------------------------------------- del / test
case(
    "del_ip",
    "del an element",
    f"ipset del A {V4}",
    pre=("ipset create A hash:ip", f"ipset add A {V4}", "ipset add A 192.0.2.2"),
)
case(
    "del_missing_elem",
    "del an absent element",
    f"ipset del A {V4}",
    pre=("ipset create A hash:ip",),
)
case(
    "del_missing_elem_exist",
    "-exist del an absent element",
    f"ipset -exist del A {V4}",
    pre=("ipset create A hash:ip",),
)
case(
    "del_range",
    "del a range",
    "ipset del A 192.0.2.1-192.0.2.2",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.1-192.0.2.3"),
)
case(
    "del_range_partial",
    "del a range partly present",
    "ipset del A 192.0.2.1-192.0.2.3",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.2"),
)
case("del_missing_set", "del from a missing set", f"ipset del Z {V4}")
case(
    "test_present",
    "test a present element",
    f"ipset test A {V4}",
    pre=("ipset create A hash:ip", f"ipset add A {V4}"),
)
case(
    "test_absent",
    "test an absent element",
    "ipset test A 192.0.2.9",
    pre=("ipset create A hash:ip", f"ipset add A {V4}"),
)
case(
    "test_quiet_present",
    "-q test present",
    f"ipset -q test A {V4}",
    pre=("ipset create A hash:ip", f"ipset add A {V4}"),
)
case(
    "test_quiet_absent",
    "-q test absent",
    "ipset -q test A 192.0.2.9",
    pre=("ipset create A hash:ip",),
)
case(
    "test_range",
    "test a range in hash:ip",
    "ipset test A 192.0.2.1-192.0.2.2",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.1-192.0.2.2"),
)
case("test_missing_set", "test in a missing set", f"ipset test Z {V4}")
case(
    "test_ip6",
    "test an IPv6 element",
    "ipset test A 2001:db8::1",
    pre=("ipset create A hash:ip family inet6", "ipset add A 2001:db8::1"),
)

# ---------------------------------------------------------------- list / save
LISTPRE = (
    "ipset create A hash:ip counters",
    "ipset add A 192.0.2.1 packets 3 bytes 4",
    "ipset create B hash:net,port family inet6 comment",
    'ipset add B 2001:db8::/64,udp:53 comment "dns"',
)
case("list_all", "list every set", "ipset list", pre=LISTPRE)
case("list_one", "list one set", "ipset list B", pre=LISTPRE)
case("list_L", "-L alias", "ipset -L A", pre=LISTPRE)
case("list_name", "list -name", "ipset list -name", pre=LISTPRE)
case("list_n", "list -n", "ipset list -n", pre=LISTPRE)
case("list_terse", "list -terse", "ipset list -terse", pre=LISTPRE)
case("list_t_one", "list -t of one set", "ipset list -t A", pre=LISTPRE)
case("list_sorted", "list -sorted", "ipset list -sorted A", pre=LISTPRE)
case("list_output_save", "list -output save", "ipset list -output save", pre=LISTPRE)
case("list_output_plain", "list -o plain", "ipset -o plain list A", pre=LISTPRE)
case("list_output_xml", "list -output xml", "ipset list -output xml", pre=LISTPRE)
case("list_output_xml_terse", "list -t -o xml", "ipset list -t -o xml A", pre=LISTPRE)
case("list_output_bad", "list -o foo", "ipset list -o foo", pre=LISTPRE)
case("list_missing", "list a missing set", "ipset list Z")
case("list_empty", "list with no sets", "ipset list")
case(
    "list_timeout",
    "list of a set with timeouts",
    "ipset list A",
    pre=(
        "ipset create A hash:ip timeout 600",
        "ipset add A 192.0.2.1 timeout 3600",
        "ipset add A 192.0.2.2 timeout 0",
    ),
)
case(
    "list_resolve",
    "list -resolve stays numeric for documentation addresses",
    "ipset list -resolve A",
    pre=("ipset create A hash:ip",),
)
case("save_all", "save every set", "ipset save", pre=LISTPRE)
case("save_one", "save one set", "ipset save B", pre=LISTPRE)
case("save_missing", "save a missing set", "ipset save Z")
case("save_empty", "save with no sets", "ipset save")
case("save_output_xml", "save -o xml", "ipset save -o xml A", pre=LISTPRE)
case(
    "list_bitmap",
    "list bitmap:port",
    "ipset list A",
    pre=("ipset create A bitmap:port range 1000-2000", "ipset add A 1001"),
)
case(
    "list_hash_ip_port_ip",
    "list hash:ip,port,ip",
    "ipset list A",
    pre=("ipset create A hash:ip,port,ip", "ipset add A 192.0.2.1,80,198.51.100.2"),
)
case("list_quiet_missing", "-q list missing", "ipset -q list Z")

# ---------------------------------------------------------------- flush / destroy / rename / swap
case(
    "flush_one",
    "flush a set",
    "ipset flush A",
    pre=(
        "ipset create A hash:ip",
        f"ipset add A {V4}",
        "ipset create B hash:ip",
        "ipset add B 192.0.2.2",
    ),
)
case(
    "flush_all",
    "flush every set",
    "ipset flush",
    pre=(
        "ipset create A hash:ip",
        f"ipset add A {V4}",
        "ipset create B hash:ip",
        "ipset add B 192.0.2.2",
    ),
)
case("flush_missing", "flush a missing set", "ipset flush Z")
case(
    "destroy_one",
    "destroy a set",
    "ipset destroy A",
    pre=("ipset create A hash:ip", "ipset create B hash:ip"),
)
case(
    "destroy_all",
    "destroy every set",
    "ipset destroy",
    pre=("ipset create A hash:ip", "ipset create B hash:ip"),
)
case("destroy_x_alias", "-X alias", "ipset -X A", pre=("ipset create A hash:ip",))
case("destroy_missing", "destroy a missing set", "ipset destroy Z")
case(
    "destroy_all_referenced",
    "destroy all while a list:set references one",
    "ipset destroy",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset add A B",
    ),
)
case(
    "destroy_list_then_member",
    "destroy the list:set frees its members",
    "ipset destroy B",
    pre=("ipset create A list:set", "ipset create B hash:ip", "ipset add A B", "ipset destroy A"),
)
case("rename", "rename a set", "ipset rename A B", pre=("ipset create A hash:ip",))
case(
    "rename_existing",
    "rename onto an existing name",
    "ipset rename A B",
    pre=("ipset create A hash:ip", "ipset create B hash:ip"),
)
case("rename_missing", "rename a missing set", "ipset rename Z B")
case("rename_e_alias", "-E alias", "ipset -E A B", pre=("ipset create A hash:ip",))
case(
    "rename_list_member",
    "rename a set a list:set holds",
    "ipset rename B C",
    pre=("ipset create A list:set", "ipset create B hash:ip", "ipset add A B"),
)
case(
    "swap",
    "swap two sets of the same type",
    "ipset swap A B",
    pre=("ipset create A hash:ip", f"ipset add A {V4}", "ipset create B hash:ip maxelem 9"),
)
case(
    "swap_different_types",
    "swap sets of different types",
    "ipset swap A B",
    pre=("ipset create A hash:ip", "ipset create B hash:net"),
)
case(
    "swap_different_families",
    "swap hash:ip inet with inet6",
    "ipset swap A B",
    pre=("ipset create A hash:ip", "ipset create B hash:ip family inet6"),
)
case("swap_missing", "swap with a missing set", "ipset swap A Z", pre=("ipset create A hash:ip",))
case(
    "swap_w_alias",
    "-W alias",
    "ipset -W A B",
    pre=("ipset create A hash:ip", "ipset create B hash:ip"),
)
case(
    "swap_list_member",
    "swap a set a list:set holds",
    "ipset swap B C",
    pre=(
        "ipset create A list:set",
        "ipset create B hash:ip",
        "ipset create C hash:ip",
        "ipset add A B",
    ),
)

# ---------------------------------------------------------------- misc commands
case("unknown_command", "unknown command", "ipset foo")
case("no_command", "no arguments", "ipset")
case("version", "version", "ipset version")
case("version_v", "-v", "ipset -v")
case("unknown_option", "unknown option", "ipset -z list")
case("quiet_add_missing", "-q hides the error", "ipset -q add Z 192.0.2.1")
case(
    "quiet_create_existing",
    "-quiet create existing",
    "ipset -quiet create A hash:ip",
    pre=("ipset create A hash:ip",),
)
case(
    "add_cmd_abbrev", "abbreviated command", "ipset a A 192.0.2.1", pre=("ipset create A hash:ip",)
)

# ---------------------------------------------------------------- restore
case(
    "restore_basic",
    "restore creates and adds",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\nadd A 192.0.2.2\ncreate B hash:net\n"
    "add B 198.51.100.0/24\n",
)
case(
    "restore_save_output",
    "restore what save printed, with comments and blank lines",
    "ipset restore",
    stdin="# saved\ncreate A hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 "
    "initval 0x0badcafe\n\nadd A 192.0.2.1\nCOMMIT\n",
)
case(
    "restore_existing_set",
    "restore a create of an existing set",
    "ipset restore",
    pre=("ipset create A hash:ip",),
    stdin="create A hash:ip\nadd A 192.0.2.1\n",
)
case(
    "restore_existing_set_exist",
    "-exist restore over an existing set",
    "ipset -exist restore",
    pre=("ipset create A hash:ip", "ipset add A 192.0.2.1"),
    stdin="create A hash:ip\nadd A 192.0.2.1\nadd A 192.0.2.2\n",
)
case(
    "restore_bad_element",
    "restore with a bad element: buffered adds are dropped",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\nadd A bogus\nadd A 192.0.2.2\n",
)
case(
    "restore_duplicate_element",
    "restore adding a present element: earlier ones stay",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\nadd A 192.0.2.1\nadd A 192.0.2.3\n",
)
case(
    "restore_unknown_command",
    "restore with an unknown command",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\nfoo A\n",
)
case(
    "restore_missing_set",
    "restore adding to a missing set",
    "ipset restore",
    stdin="create A hash:ip\nadd B 192.0.2.1\n",
)
case(
    "restore_flushes_on_create",
    "a create line ends the batch of adds",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\ncreate B hash:ip\nadd B bad\n",
)
case(
    "restore_other_commands",
    "restore with flush, del, swap, rename, destroy lines",
    "ipset restore",
    stdin="create A hash:ip\nadd A 192.0.2.1\nadd A 192.0.2.2\ndel A 192.0.2.1\n"
    "create B hash:ip\nadd B 192.0.2.3\nswap A B\nrename A C\nflush C\ncreate D hash:ip\n"
    "destroy D\n",
)
case("restore_list_line", "restore refuses list", "ipset restore", stdin="create A hash:ip\nlist\n")
case("restore_empty", "restore of nothing", "ipset restore", stdin="")
case(
    "restore_option_line",
    "an option in a restore line",
    "ipset restore",
    stdin="create A hash:ip\n-exist add A 192.0.2.1\n",
)
case("restore_file", "restore -file", "ipset restore -file /dev/null")
case(
    "restore_comment_quoted",
    "a quoted comment in restore",
    "ipset restore",
    stdin='create A hash:ip comment\nadd A 192.0.2.1 comment "a b"\n',
)
case(
    "restore_create_error_line",
    "a bad create line",
    "ipset restore",
    stdin="create A hash:ip\ncreate B foo:bar\n",
)

# ---------------------------------------------------------------- iptables interplay
for b in ("nft", "legacy"):
    ipt, ip6t = f"iptables-{b}", f"ip6tables-{b}"
    m = "-A INPUT -m set --match-set S src -j DROP"
    case(f"ipt_{b}_match_missing_set", "a rule naming a missing set", f"{ipt} {m}", backend=b)
    case(
        f"ipt_{b}_match_present",
        "a rule naming a set",
        f"{ipt} {m}",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_src_dst_dim1",
        "src,dst on a one-dimensional set",
        f"{ipt} -A INPUT -m set --match-set S src,dst -j DROP",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_flags_too_long",
        "more flags than IPSET_DIM_MAX",
        f"{ipt} -A INPUT -m set --match-set S src,dst,src,dst,src,dst,src -j DROP",
        pre=("ipset create S hash:ip,port,ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_bad_flag",
        "a flag not src/dst",
        f"{ipt} -A INPUT -m set --match-set S foo -j DROP",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_inet6_from_iptables",
        "an inet6 set in an IPv4 rule",
        f"{ipt} {m}",
        pre=("ipset create S hash:ip family inet6",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_inet_from_ip6tables",
        "an inet set in an IPv6 rule",
        f"{ip6t} {m}",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_inet6_from_ip6tables",
        "an inet6 set in an IPv6 rule",
        f"{ip6t} {m}",
        pre=("ipset create S hash:ip family inet6",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_list_set",
        "a list:set in a rule (no family)",
        f"{ipt} {m}",
        pre=("ipset create S list:set",),
        backend=b,
    )
    case(
        f"ipt_{b}_match_bitmap_port_ip6",
        "a bitmap:port set (inet) in an IPv6 rule",
        f"{ip6t} {m}",
        pre=("ipset create S bitmap:port range 1-100",),
        backend=b,
    )
    case(
        f"ipt_{b}_destroy_referenced",
        "destroy a set a rule references",
        "ipset destroy S",
        pre=("ipset create S hash:ip", f"{ipt} {m}"),
        backend=b,
    )
    case(
        f"ipt_{b}_destroy_all_referenced",
        "destroy all while a rule references one",
        "ipset destroy",
        pre=("ipset create S hash:ip", "ipset create T hash:ip", f"{ipt} {m}"),
        backend=b,
    )
    case(
        f"ipt_{b}_rename_referenced",
        "rename a set a rule references",
        "ipset rename S T",
        pre=("ipset create S hash:ip", f"{ipt} {m}"),
        backend=b,
    )
    case(
        f"ipt_{b}_swap_referenced",
        "swap a set a rule references",
        "ipset swap S T",
        pre=("ipset create S hash:ip", "ipset create T hash:ip", f"{ipt} {m}"),
        backend=b,
    )
    case(
        f"ipt_{b}_flush_referenced",
        "flush a set a rule references",
        "ipset flush S",
        pre=("ipset create S hash:ip", "ipset add S 192.0.2.1", f"{ipt} {m}"),
        backend=b,
    )
    case(
        f"ipt_{b}_list_references",
        "References: in list",
        "ipset list -t S",
        pre=(
            "ipset create S hash:ip",
            f"{ipt} {m}",
            f"{ipt} -A OUTPUT -m set --match-set S dst -j DROP",
        ),
        backend=b,
    )
    case(
        f"ipt_{b}_destroy_after_rule_deleted",
        "destroy once the rule is gone",
        "ipset destroy S",
        pre=(
            "ipset create S hash:ip",
            f"{ipt} {m}",
            f"{ipt} -D INPUT -m set --match-set S src -j DROP",
        ),
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_add",
        "-j SET --add-set",
        f"{ipt} -A INPUT -j SET --add-set S src",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_del",
        "-j SET --del-set src,dst",
        f"{ipt} -A INPUT -j SET --del-set S src,dst",
        pre=("ipset create S hash:ip",),
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_missing",
        "-j SET with a missing set",
        f"{ipt} -A INPUT -j SET --add-set S src",
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_inet6",
        "-j SET with an inet6 set in an IPv4 rule",
        f"{ipt} -A INPUT -j SET --add-set S src",
        pre=("ipset create S hash:ip family inet6",),
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_options",
        "-j SET --add-set with --exist --timeout",
        f"{ipt} -A INPUT -j SET --add-set S src --exist --timeout 60",
        pre=("ipset create S hash:ip timeout 10",),
        backend=b,
    )
    case(
        f"ipt_{b}_set_target_destroy",
        "destroy a set a SET target references",
        "ipset destroy S",
        pre=("ipset create S hash:ip", f"{ipt} -A INPUT -j SET --add-set S src"),
        backend=b,
    )
    case(
        f"ipt_{b}_save_rules",
        "what iptables-save prints for set rules",
        f"{ipt}-save",
        pre=(
            "ipset create S hash:ip",
            "ipset create T hash:ip,port",
            f"{ipt} {m}",
            f"{ipt} -A INPUT -m set ! --match-set T src,dst -j ACCEPT",
            f"{ipt} -A INPUT -m set --match-set S dst --return-nomatch -j ACCEPT",
            f"{ipt} -A INPUT -j SET --add-set S src",
            f"{ipt} -A INPUT -j SET --del-set T src,dst",
            f"{ipt} -A INPUT -j SET --add-set S src --exist --timeout 60",
        ),
        backend=b,
    )
    case(
        f"ipt_{b}_restore_missing_set",
        "iptables-restore naming a missing set",
        f"{ipt}-restore",
        stdin="*filter\n-A INPUT -m set --match-set S src -j DROP\nCOMMIT\n",
        backend=b,
    )


def _mask_record(rec: Case) -> Case:
    for key in ("stdout", "stderr", "after"):
        rec[key] = mask(rec[key], rec)
    return rec


class Netns:
    def __init__(self) -> None:
        self.name = f"iptw-ipset-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.env = {**os.environ, "LC_ALL": "C"}

    def run(self, argv: List[str], stdin: Optional[str] = None) -> Tuple[int, str, str]:
        res = subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            input=(stdin or "").encode(),
            capture_output=True,
            env=self.env,
            timeout=20,
            check=False,
        )
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    def close(self) -> None:
        # rules first: a set a rule references cannot be destroyed with the namespace
        # gone either way, but leave nothing behind
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def run_case(c: Case) -> Case:
    ns = Netns()
    try:
        for argv in c["pre"]:
            ns.run(argv)
        rc, out, err = ns.run(c["cmd"], c["stdin"])
        after = ns.run(["ipset", "save"])[1]
    finally:
        ns.close()
    rec = dict(c)
    rec.update(rc=rc, stdout=out, stderr=err, after=after)
    return _mask_record(rec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DATA))
    ap.add_argument("--only", default=None, help="print the cases whose id contains this")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    ids = [c["id"] for c in CASES]
    dups = {i for i in ids if ids.count(i) > 1}
    if dups:
        print(f"duplicate ids: {sorted(dups)}", file=sys.stderr)
        return 2
    if args.only:
        for c in CASES:
            if args.only in c["id"]:
                print(json.dumps(run_case(c), indent=1))
        return 0
    fields = ("id", "desc", "backend", "pre", "cmd", "stdin", "rc", "stdout", "stderr", "after")
    with open(args.out, "w") as fh:
        for c in CASES:
            rec = run_case(c)
            fh.write(json.dumps({k: rec[k] for k in fields}) + "\n")
    print(f"{len(CASES)} cases written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
