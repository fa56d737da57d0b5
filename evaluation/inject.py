#!/usr/bin/env python3
"""Inject labeled beacons, scans and password guessing into real EVE traffic.

    .venv/bin/python evaluation/inject.py [--data /work/shared/data] [--seed 11] [--out FILE]
    .venv/bin/python evaluation/inject.py --real-only --out FILE   # the real records alone, time-ordered

The base is a real capture: ``eve/slips-test6-malicious.json.gz`` (24 h of an
internet-exposed host, 192.168.1.129, with the real scans and probes of the internet in
it). Its flow records were flushed at shutdown in hash order (every flow's
``timestamp`` is the capture's first second), so the records are put in the order a
live sensor writes them: flows at ``flow.end``, every other record at its
``timestamp``. Real records are written unchanged.

The injected records are Suricata 7 EVE (flow, tls, http) with the same layout as the
real ones, timed inside the capture's day (UTC+02:00 as the capture), merged in that
order. Each carries ``injected`` (what it belongs to, e.g. ``"beacon:B4"``); the
records a detector should flag carry ``label`` = ``"beacon"``, ``"scan"`` or
``"bruteforce"`` (real records and injected benign traffic carry no label). What is
injected (``SCENARIOS`` below; addresses, times, jitter and sizes drawn from
``random.Random(seed)``):

- beacons (label on the flow records; their tls/http records are context): B1 60 s
  no jitter 3 h TLS with SNI; B2 300 s 10 % 12 h HTTP with hostname; B3 30 s 20 % 1 h;
  B4 900 s 5 % 20 h TLS, the server rotating over 3 addresses; B5 10 s 30 % 30 min;
  B6 3600 s 2 % 23 h; B7 120 s 10 % 6 h with 20 % of the beats missed; B8 45 s 50 %
  2 h with sizes varying 30 %. Jitter as C2 frameworks define it: each sleep is the
  period shortened by a uniform fraction up to the jitter.
- scans (label on every probe flow): S1 horizontal TCP/23 over 254 hosts in 2 min;
  S2 horizontal TCP/3389 over 40 hosts in 50 min; S3 horizontal TCP/445 from an
  internal host to 120 internet addresses in 10 min; S4 vertical 1,000 TCP ports of one
  host in 3 min; S5 vertical 30 TCP ports over 40 min; S6 vertical 60 UDP ports in
  1 min; S7 ICMP sweep of 60 hosts in 30 s; S8 ICMP sweep of 8 hosts. Probes are
  unanswered (SYN alone), rejected (SYN, RST) or open (SYN, SYN-ACK, RST) in set shares.
- password guessing (label on each attempt): F1 ssh 80 attempts in ~25 min; F2 rdp 30
  in 10 min; F3 ftp 15 in 3 min (internal source); F4 40 HTTP 401 responses in 8 min
  (label on the http records; their flow records are context); F5 slow ssh 12 in
  25 min; F6 smb 20 in 5 min.
- benign traffic (no label; hard negatives): N1-N6 Poisson clients (exponential gaps,
  mean 30-600 s, log-normal sizes); N7 web browsing (bursts to ~400 distinct
  addresses on 443 over 8 h); N8 ssh administration (6 long sessions and 8 short
  git-over-ssh connections in 40 min); N9 a host pinging 4 hosts.

Same seed, same file: the generator uses nothing but its seeded random source.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TZ = timezone(timedelta(hours=2))
BASE = "eve/slips-test6-malicious.json.gz"
DAY_START = datetime(2021, 6, 6, 16, 0, 0, tzinfo=TZ).timestamp()
DAY_END = datetime(2021, 6, 7, 15, 50, 0, tzinfo=TZ).timestamp()
HOST = "stratosphere.org"

Record = dict[str, Any]


def ts(t: float) -> str:
    """Epoch seconds -> Suricata's timestamp text in the capture's zone."""
    return datetime.fromtimestamp(t, TZ).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def event_time(rec: Record) -> float:
    """When a live sensor writes this record: a flow at its end, anything else at its timestamp."""
    text = rec.get("flow", {}).get("end") if rec.get("event_type") == "flow" else None
    return datetime.strptime(text or rec["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Gen:
    """Builds injected records from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.records: list[Record] = []
        self.used: set[str] = set()

    # addresses ------------------------------------------------------------------------
    def public_ip(self) -> str:
        """A fresh public IPv4 address (not private, not multicast, not used before)."""
        while True:
            a = self.rng.choice([23, 31, 37, 45, 51, 62, 77, 85, 91, 103, 109, 141, 151, 176, 185, 194, 203, 212])
            ip = f"{a}.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
            if ip not in self.used:
                self.used.add(ip)
                return ip

    def flow_id(self) -> int:
        return self.rng.randrange(10**14, 2**51)

    def sport(self) -> int:
        return self.rng.randrange(32768, 61000)

    # records --------------------------------------------------------------------------
    def flow(self, src: str, dst: str, dport: int | None, start: float, *, kind: str, label: str | None,
             proto: str = "TCP", shape: str = "session", duration: float = 0.0, bytes_ts: int = 0,
             bytes_tc: int = 0, app_proto: str | None = None, icmp_type: int | None = None,
             flow_id: int | None = None, sport: int | None = None) -> Record:
        """One flow record. shape: session (a full TCP/UDP exchange), syn (unanswered probe),
        rst (SYN answered by RST), open (SYN, SYN-ACK, then the prober's RST),
        udp-probe (no answer), echo / echo-answered (ICMP)."""
        end = start + duration
        rec: Record = {"timestamp": ts(end), "flow_id": flow_id or self.flow_id(), "event_type": "flow",
                       "src_ip": src}
        if proto in ("TCP", "UDP"):
            rec["src_port"] = sport or self.sport()
        rec["dest_ip"] = dst
        if proto in ("TCP", "UDP"):
            rec["dest_port"] = dport
        rec["proto"] = proto
        if icmp_type is not None:
            rec["icmp_type"], rec["icmp_code"] = icmp_type, 0
        if app_proto:
            rec["app_proto"] = app_proto
        tcp: Record | None = None
        if shape == "session":
            pts = max(3, bytes_ts // 700 + 3)
            ptc = max(2, bytes_tc // 1200 + 2)
            state = "closed" if proto == "TCP" else "established"
            if proto == "TCP":
                tcp = {"tcp_flags": "1b", "tcp_flags_ts": "1b", "tcp_flags_tc": "1b", "syn": True, "fin": True,
                       "psh": True, "ack": True, "state": "closed"}
        elif shape == "syn":
            pts, ptc, bytes_ts, bytes_tc, state = 1, 0, 60, 0, "new"
            tcp = {"tcp_flags": "02", "tcp_flags_ts": "02", "tcp_flags_tc": "00", "syn": True, "state": "syn_sent"}
        elif shape == "rst":
            pts, ptc, bytes_ts, bytes_tc, state = 1, 1, 60, 54, "closed"
            tcp = {"tcp_flags": "16", "tcp_flags_ts": "02", "tcp_flags_tc": "14", "syn": True, "rst": True,
                   "ack": True, "state": "closed"}
        elif shape == "open":
            pts, ptc, bytes_ts, bytes_tc, state = 2, 1, 114, 60, "closed"
            tcp = {"tcp_flags": "16", "tcp_flags_ts": "06", "tcp_flags_tc": "12", "syn": True, "rst": True,
                   "ack": True, "state": "closed"}
        elif shape == "udp-probe":
            pts, ptc, bytes_ts, bytes_tc, state = 1, 0, bytes_ts or 42, 0, "new"
        elif shape == "echo":
            pts, ptc, bytes_ts, bytes_tc, state = 1, 0, 98, 0, "new"
        elif shape == "echo-answered":
            pts, ptc, bytes_ts, bytes_tc, state = 1, 1, 98, 98, "established"
            rec["response_icmp_type"], rec["response_icmp_code"] = 0, 0
        else:
            raise ValueError(shape)
        rec["flow"] = {"pkts_toserver": pts, "pkts_toclient": ptc, "bytes_toserver": bytes_ts,
                       "bytes_toclient": bytes_tc, "start": ts(start), "end": ts(end), "age": int(duration),
                       "state": state, "reason": "timeout", "alerted": False}
        if tcp is not None:
            rec["tcp"] = tcp
        return self.add(rec, kind, label)

    def add(self, rec: Record, kind: str, label: str | None) -> Record:
        rec["host"] = HOST
        rec["injected"] = kind
        if label:
            rec["label"] = label
        self.records.append(rec)
        return rec

    def tls(self, src: str, sport: int, dst: str, dport: int, t: float, flow_id: int, sni: str, kind: str) -> None:
        self.add({"timestamp": ts(t), "flow_id": flow_id, "event_type": "tls", "src_ip": src, "src_port": sport,
                  "dest_ip": dst, "dest_port": dport, "proto": "TCP",
                  "tls": {"subject": f"CN={sni}", "issuerdn": "CN=R3, O=Let's Encrypt, C=US", "sni": sni,
                          "version": "TLS 1.2", "ja3": {"hash": "72a589da586844d7f0818ce684948eea"}}}, kind, None)

    def http(self, src: str, sport: int, dst: str, dport: int, t: float, flow_id: int, host: str, url: str,
             status: int, kind: str, label: str | None, method: str = "GET") -> None:
        self.add({"timestamp": ts(t), "flow_id": flow_id, "event_type": "http", "src_ip": src, "src_port": sport,
                  "dest_ip": dst, "dest_port": dport, "proto": "TCP", "tx_id": 0,
                  "http": {"hostname": host, "url": url, "http_user_agent": "Mozilla/5.0", "http_method": method,
                           "protocol": "HTTP/1.1", "status": status, "length": 150}}, kind, label)

    # scenarios ------------------------------------------------------------------------
    def beacon(self, name: str, src: str, period: float, jitter: float, hours: float, port: int, *,
               app: str | None = None, rotate: int = 1, missed: float = 0.0, size_var: float = 0.03) -> None:
        """A C2 beacon: each sleep is period * (1 - U(0, jitter)); a share `missed` of beats is skipped."""
        kind = f"beacon:{name}"
        dsts = [self.public_ip() for _ in range(rotate)]
        domain = f"{self.rng.choice(['cdn', 'api', 'update', 'static', 'sync'])}-{self.rng.randrange(100, 999)}." + \
            self.rng.choice(["net", "com", "info", "xyz"])
        size = self.rng.randrange(180, 1600)
        t = self.rng.uniform(DAY_START, max(DAY_START, DAY_END - hours * 3600))
        stop = min(DAY_END, t + hours * 3600)
        while t < stop:
            if self.rng.random() >= missed:
                dst = self.rng.choice(dsts)
                fid, sp = self.flow_id(), self.sport()
                bts = max(40, int(size * (1 + self.rng.uniform(-size_var, size_var))))
                dur = self.rng.uniform(0.05, 0.6)
                if app == "tls":
                    self.tls(src, sp, dst, port, t + 0.05, fid, domain, kind)
                elif app == "http":
                    self.http(src, sp, dst, port, t + 0.05, fid, domain, "/api/v1/poll", 200, kind, None, "POST")
                self.flow(src, dst, port, t, kind=kind, label="beacon", duration=dur, bytes_ts=bts,
                          bytes_tc=self.rng.randrange(200, 900), app_proto=app, flow_id=fid, sport=sp)
            t += period * (1 - self.rng.uniform(0, jitter))

    def scan(self, name: str, src: str, targets: list[tuple[str, int | None]], seconds: float, *,
             proto: str = "TCP", shares: tuple[float, float, float] = (0.9, 0.08, 0.02)) -> None:
        """Probes spread over `seconds`; TCP shares: unanswered, rejected, open."""
        kind = f"scan:{name}"
        t0 = self.rng.uniform(DAY_START, DAY_END - seconds - 60)
        for i, (dst, port) in enumerate(targets):
            t = t0 + seconds * i / max(1, len(targets) - 1) + self.rng.uniform(0, 0.05)
            if proto == "ICMP":
                shape = "echo-answered" if self.rng.random() < 0.2 else "echo"
                self.flow(src, dst, None, t, kind=kind, label="scan", proto="ICMP", shape=shape, icmp_type=8)
            elif proto == "UDP":
                self.flow(src, dst, port, t, kind=kind, label="scan", proto="UDP", shape="udp-probe")
            else:
                r = self.rng.random()
                shape = "syn" if r < shares[0] else "rst" if r < shares[0] + shares[1] else "open"
                self.flow(src, dst, port, t, kind=kind, label="scan", shape=shape)

    def guessing(self, name: str, src: str, dst: str, port: int, attempts: int, seconds: float,
                 app: str | None) -> None:
        """Short login sessions at exponential gaps (several tool threads): attempts within about `seconds`."""
        kind = f"bruteforce:{name}"
        t = self.rng.uniform(DAY_START, DAY_END - 2 * seconds)
        for _ in range(attempts):
            dur = self.rng.uniform(1.5, 6)
            self.flow(src, dst, port, t, kind=kind, label="bruteforce", duration=dur,
                      bytes_ts=self.rng.randrange(1500, 5000), bytes_tc=self.rng.randrange(2000, 6000),
                      app_proto=app)
            t += self.rng.expovariate(attempts / seconds)

    def http_guessing(self, name: str, src: str, dst: str, attempts: int, seconds: float) -> None:
        """HTTP basic-auth guessing: one 401 per attempt (label on the http record, the flow is context)."""
        kind = f"bruteforce:{name}"
        t = self.rng.uniform(DAY_START, DAY_END - 2 * seconds)
        for _ in range(attempts):
            fid, sp = self.flow_id(), self.sport()
            self.http(src, sp, dst, 80, t + 0.1, fid, dst, "/admin/", 401, kind, "bruteforce")
            self.flow(src, dst, 80, t, kind=kind, label=None, duration=0.3, bytes_ts=420, bytes_tc=600,
                      app_proto="http", flow_id=fid, sport=sp)
            t += self.rng.expovariate(attempts / seconds)

    def poisson_client(self, name: str, src: str, mean_gap: float, hours: float, ndst: int) -> None:
        kind = f"benign:{name}"
        dsts = [(self.public_ip(), self.rng.choice([443, 443, 80, 8080])) for _ in range(ndst)]
        t = self.rng.uniform(DAY_START, DAY_END - hours * 3600)
        stop = t + hours * 3600
        while t < stop:
            dst, port = self.rng.choice(dsts)
            self.flow(src, dst, port, t, kind=kind, label=None, duration=self.rng.uniform(0.1, 30),
                      bytes_ts=int(self.rng.lognormvariate(7, 1.2)), bytes_tc=int(self.rng.lognormvariate(9, 1.5)))
            t += self.rng.expovariate(1 / mean_gap)

    def browsing(self, name: str, src: str, hours: float, sessions: int) -> None:
        kind = f"benign:{name}"
        pool = [self.public_ip() for _ in range(400)]
        t0 = self.rng.uniform(DAY_START, DAY_END - hours * 3600)
        for _ in range(sessions):
            t = t0 + self.rng.uniform(0, hours * 3600)
            for dst in self.rng.sample(pool, self.rng.randrange(5, 30)):
                self.flow(src, dst, 443, t + self.rng.uniform(0, 4), kind=kind, label=None,
                          duration=self.rng.uniform(0.2, 60), bytes_ts=int(self.rng.lognormvariate(7.5, 1)),
                          bytes_tc=int(self.rng.lognormvariate(10, 1.5)), app_proto="tls")

    def admin_ssh(self, name: str, src: str, dst: str) -> None:
        kind = f"benign:{name}"
        t = self.rng.uniform(DAY_START, DAY_END - 7200)
        for _ in range(6):
            self.flow(src, dst, 22, t, kind=kind, label=None, duration=self.rng.uniform(300, 1800),
                      bytes_ts=self.rng.randrange(80_000, 900_000), bytes_tc=self.rng.randrange(200_000, 2_000_000),
                      app_proto="ssh")
            t += self.rng.uniform(600, 1800)
        t = self.rng.uniform(DAY_START, DAY_END - 7200)
        for _ in range(8):
            self.flow(src, dst, 22, t, kind=kind, label=None, duration=self.rng.uniform(1, 4),
                      bytes_ts=self.rng.randrange(3000, 9000), bytes_tc=self.rng.randrange(4000, 40000),
                      app_proto="ssh")
            t += self.rng.uniform(120, 480)

    def pinger(self, name: str, src: str) -> None:
        kind = f"benign:{name}"
        t = self.rng.uniform(DAY_START, DAY_END - 600)
        for i in range(4):
            self.flow(src, f"192.168.1.{i + 1}", None, t + i, kind=kind, label=None, proto="ICMP",
                      shape="echo-answered", icmp_type=8, duration=3)


def scenarios(g: Gen) -> None:
    """Everything injected; the module docstring describes it."""
    rng = g.rng
    ext = g.public_ip
    # beacons from internal hosts
    g.beacon("B1", "192.168.1.41", 60, 0.0, 3, 443, app="tls")
    g.beacon("B2", "192.168.1.42", 300, 0.10, 12, 80, app="http")
    g.beacon("B3", "192.168.1.43", 30, 0.20, 1, 8443)
    g.beacon("B4", "192.168.1.44", 900, 0.05, 20, 443, app="tls", rotate=3)
    g.beacon("B5", "192.168.1.45", 10, 0.30, 0.5, 4444)
    g.beacon("B6", "192.168.1.46", 3600, 0.02, 23, 443)
    g.beacon("B7", "192.168.1.47", 120, 0.10, 6, 443, missed=0.2)
    g.beacon("B8", "192.168.1.48", 45, 0.50, 2, 443, size_var=0.3)
    # scans
    g.scan("S1", ext(), [(f"192.168.1.{i}", 23) for i in range(1, 255)], 120)
    g.scan("S2", ext(), [(f"192.168.1.{i}", 3389) for i in rng.sample(range(1, 255), 40)], 3000)
    g.scan("S3", "192.168.1.77", [(ext(), 445) for _ in range(120)], 600, shares=(0.97, 0.03, 0.0))
    ports = rng.sample(range(1, 10000), 1000)
    g.scan("S4", ext(), [("192.168.1.129", p) for p in ports], 180, shares=(0.0, 0.97, 0.03))
    g.scan("S5", ext(), [("192.168.1.20", p) for p in rng.sample(range(1, 1024), 30)], 2400,
           shares=(0.3, 0.65, 0.05))
    g.scan("S6", ext(), [("192.168.1.20", p) for p in rng.sample(range(1, 1024), 60)], 60, proto="UDP")
    g.scan("S7", "192.168.1.78", [(f"192.168.1.{i}", None) for i in range(1, 61)], 30, proto="ICMP")
    g.scan("S8", ext(), [(f"192.168.1.{i}", None) for i in rng.sample(range(1, 255), 8)], 20, proto="ICMP")
    # password guessing
    g.guessing("F1", ext(), "192.168.1.20", 22, 80, 1500, "ssh")
    g.guessing("F2", ext(), "192.168.1.21", 3389, 30, 600, None)
    g.guessing("F3", "192.168.1.77", "192.168.1.22", 21, 15, 180, "ftp")
    g.http_guessing("F4", ext(), "192.168.1.30", 40, 480)
    g.guessing("F5", ext(), "192.168.1.20", 22, 12, 1500, "ssh")
    g.guessing("F6", "192.168.1.79", "192.168.1.23", 445, 20, 300, "smb")
    # benign hard negatives
    for i, mean in enumerate([30, 60, 120, 300, 600, 90]):
        g.poisson_client(f"N{i + 1}", f"192.168.1.{60 + i}", mean, rng.uniform(4, 12), rng.randrange(1, 4))
    g.browsing("N7", "192.168.1.70", 8, 40)
    g.admin_ssh("N8", "192.168.1.71", "192.168.1.20")
    g.pinger("N9", "192.168.1.72")


def real_records(data: Path) -> list[tuple[float, int, str]]:
    """The base capture's lines with the time a live sensor writes them."""
    out = []
    with gzip.open(data / BASE, "rt") as fh:
        for i, line in enumerate(fh):
            line = line.rstrip("\n")
            if line:
                out.append((event_time(json.loads(line)), i, line))
    return out


def build(data: Path, seed: int, real_only: bool = False) -> Iterator[str]:
    """Lines of the merged file, in write order (real records unchanged)."""
    rows = real_records(data)
    if not real_only:
        g = Gen(seed)
        scenarios(g)
        base = len(rows)
        for j, rec in enumerate(g.records):
            text = json.dumps(rec, separators=(",", ":"))
            rows.append((event_time(rec), base + j, text))
    rows.sort(key=lambda r: (r[0], r[1]))
    for _, _, line in rows:
        yield line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="the shared data folder")
    ap.add_argument("--seed", type=int, default=11, help="random seed (default 11)")
    ap.add_argument("--out", type=Path, default=Path("evaluation/.cache/injected.json"), help="output EVE file")
    ap.add_argument("--real-only", action="store_true", help="write the real records alone (time-ordered)")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with args.out.open("w") as fh:
        for line in build(args.data, args.seed, args.real_only):
            fh.write(line + "\n")
            n += 1
    print(f"wrote {n:,} records to {args.out}")


if __name__ == "__main__":
    main()
