"""DNS tunnelling, rare user agents, missing Host headers, executable downloads (Zeek rows built here)."""

from __future__ import annotations

import random
import string

from analytics_events import at, batch, run


def dns(t: float, src: str, query: str, qtype: str = "A") -> dict:
    return {
        "timestamp": at(t),
        "source": "zeek.dns",
        "src_ip": src,
        "dst_ip": "10.0.0.53",
        "query": query,
        "qtype_name": qtype,
    }


def test_dns_tunnel_versus_cdn_and_reverse_lookups() -> None:
    rnd = random.Random(1)
    alphabet = string.ascii_lowercase + string.digits
    encoded = ["".join(rnd.choice(alphabet) for _ in range(40)) for _ in range(80)]
    tunnel = [dns(i, "10.0.0.23", f"{label}.{i}.t.exfil-example.co.uk") for i, label in enumerate(encoded)]
    ordinary = [
        dns(i, "10.0.0.24", f"{name}.example.com") for i, name in enumerate(["www", "mail", "cdn"] * 30)
    ]
    reverse = [dns(i, "10.0.0.25", f"{i}.2.0.192.in-addr.arpa") for i in range(200)]
    alerts = run("dns_tunnel", batch(tunnel + ordinary + reverse))
    assert [(a.src_ip, a.count) for a in alerts] == [("10.0.0.23", 80)]
    assert "80 unique subdomains of exfil-example.co.uk" in alerts[0].description
    # Many short, readable names under one domain (a CDN or a mail farm) are not a tunnel.
    farm = [dns(i, "10.0.0.26", f"node{i}.cdn.example.net") for i in range(120)]
    assert run("dns_tunnel", batch(farm)) == []
    txt = [dns(i, "10.0.0.27", "cmd.c2-example.org", "TXT") for i in range(120)]
    assert [a.src_ip for a in run("dns_tunnel", batch(txt))] == ["10.0.0.27"]


def http(
    t: float,
    src: str,
    agent: str | None,
    host: str | None = "site.example",
    dst: str = "192.0.2.10",
    uri: str = "/",
    **extra: object,
) -> dict:
    return {
        "timestamp": at(t),
        "source": "zeek.http",
        "src_ip": src,
        "dst_ip": dst,
        "user_agent": agent,
        "raw.host": host,
        "method": "GET",
        "uri": uri,
        **extra,
    }


def test_rare_user_agent_needs_a_population() -> None:
    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"
    crowd = [http(i, f"10.0.1.{i % 12}", browser) for i in range(60)]
    implant = [
        http(100 + i, "10.0.1.99", "Mozilla/4.0 (compatible; MSIE 6.0; Win32)", dst="203.0.113.5")
        for i in range(8)
    ]
    alerts = run("rare_user_agent", batch(crowd + implant))
    assert [(a.src_ip, a.count) for a in alerts] == [("10.0.1.99", 8)]
    assert "13 HTTP clients seen" in alerts[0].description
    assert run("rare_user_agent", batch(implant)) == []  # no population to compare with


def test_missing_host_header_and_executable_download() -> None:
    rows = [http(i, "10.0.1.5", "x", host=None, uri=f"/gate.php?id={i}") for i in range(4)]
    rows += [http(i, "10.0.1.6", "x") for i in range(4)]
    alerts = run("http_missing_host", batch(rows))
    assert [(a.src_ip, a.count) for a in alerts] == [("10.0.1.5", 4)]
    downloads = [
        http(0, "10.0.1.7", "x", uri="/payload.exe"),
        http(1, "10.0.1.7", "x", uri="/files/update", resp_mime_types="application/x-dosexec"),
        http(2, "10.0.1.8", "x", uri="/app.js", resp_mime_types="text/javascript"),
        http(3, "10.0.1.8", "x", uri="/index.html", resp_mime_types="text/html"),
    ]
    alerts = run("executable_download", batch(downloads))
    assert [(a.src_ip, a.count) for a in alerts] == [("10.0.1.7", 2)]
