"""mle.net against Python's ipaddress on the same addresses and networks, and mle.cache's
bound and recency, on both runtimes."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.1.128/25", "203.0.113.7",
            "fc00::/7", "2001:db8:abcd::/48", "fe80::/10", "::ffff:192.0.2.0/120"]
ADDRESSES = ["10.1.2.3", "11.0.0.1", "172.31.255.255", "172.32.0.0", "192.168.1.127",
             "192.168.1.128", "192.168.1.255", "203.0.113.7", "203.0.113.8", "fd12::1",
             "fe00::1", "2001:db8:abcd:ffff::1", "2001:db8:abce::1", "fe80::1%eth0",
             "::ffff:192.0.2.9", "::ffff:192.0.3.9", "::1", "::", "256.1.1.1", "1.2.3",
             "not an address", "1:2:3:4:5:6:7:8:9", "2001:db8::g"]


def expected(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n) for n in NETWORKS
               if ipaddress.ip_network(n).version == ip.version)


def test_networks_agree_with_ipaddress(lua: Callable[..., Any], runtime: str) -> None:
    got = lua("""
        local net = require "mle.net"
        local nets = net.Networks(data.networks)
        local out = {}
        for i, a in ipairs(data.addresses) do out[i] = nets:contains(a) end
        return out
    """, {"networks": NETWORKS, "addresses": ADDRESSES}, runtime=runtime)
    assert got == [expected(a) for a in ADDRESSES]


def test_is_internal_reads_home_net(lua: Callable[..., Any]) -> None:
    got = lua("""
        local net = require "mle.net"
        return { net.is_internal("10.9.9.9"), net.is_internal("8.8.8.8"), net.is_internal("fd00::5") }
    """)
    assert got == [True, False, True]  # the default home_net: RFC 1918 and fc00::/7


def test_lru_keeps_recent_keys_within_its_bound(lua: Callable[..., Any], runtime: str) -> None:
    got = lua("""
        local cache = require "mle.cache"
        local c = cache.LRU(100)
        for i = 1, 1000 do
          c:set(i, i)
          if c:get(7) == nil and i >= 7 then c:set(7, 7) end   -- 7 stays in use
        end
        local kept = 0
        for i = 1, 1000 do if c:get(i) ~= nil then kept = kept + 1 end end
        return { kept = kept, seven = c:get(7), recent = c:get(1000), early = c:get(3) }
    """, runtime=runtime)
    assert got["seven"] == 7 and got["recent"] == 1000 and got.get("early") is None
    assert 50 <= got["kept"] <= 101
