"""Background activity of ordinary users and servers, generated lazily in time order.

Each source is an iterator of (time, activity) with its own random stream, so output does not
depend on how sources interleave. Periodic benign traffic (NTP to the domain controller,
monitoring polls, update checks) goes to internal servers or to destinations every host
contacts: a beaconing analytic that weighs destination prevalence must not flag it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import partial

from chainbreaker.simulate import network as net
from chainbreaker.simulate import noise_linux, noise_windows
from chainbreaker.simulate.model import Environment, Host, SimConfig
from chainbreaker.simulate.telemetry import Telemetry

Activity = tuple[float, Callable[[Telemetry], None]]


def _activity_factor(host: Host, t: float) -> float:
    hour = int(t // 3600) % 24
    day = int(t // 86400 + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    if host.role in ("workstation", "terminal"):
        working = 8 <= hour < 18 and day < 5
        return 1.0 if working else 0.08
    return 0.5


def _poisson(host: Host, config: SimConfig, rng: random.Random) -> Iterator[Activity]:
    table = noise_windows.WORKSTATION if host.role == "workstation" else noise_windows.SERVER
    kinds = [k for k, _ in table]
    weights = [w for _, w in table]
    rate = config.noise / 3600.0
    if rate <= 0:
        return
    t, end = config.start_ts, config.end_ts
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return
        if rng.random() > _activity_factor(host, t):
            continue
        kind = rng.choices(kinds, weights)[0]
        yield t, partial(_run_kind, kind, host, t, rng)


def _periodic(
    name: str,
    start: float,
    end: float,
    period: float,
    jitter: float,
    rng: random.Random,
    fn: Callable[[Telemetry, float, random.Random], None],
) -> Iterator[Activity]:
    t = start + rng.uniform(0, period)
    while t < end:
        at = t + rng.uniform(-jitter, jitter)
        yield max(at, start), partial(_run_periodic, fn, max(at, start), rng)
        t += period


def _ntp(host: Host) -> Callable[[Telemetry, float, random.Random], None]:
    def run(tel: Telemetry, t: float, rng: random.Random) -> None:
        net.connect(
            tel,
            t,
            host,
            tel.env.dc.ip,
            123,
            proto="udp",
            service="ntp",
            duration=0.001,
            orig_bytes=48,
            resp_bytes=48,
            sysmon=False,
        )

    return run


def _poll(mon: Host, target: Host) -> Callable[[Telemetry, float, random.Random], None]:
    def run(tel: Telemetry, t: float, rng: random.Random) -> None:
        net.connect(
            tel,
            t,
            mon,
            target.ip,
            5985,
            service="http",
            duration=rng.uniform(0.05, 0.4),
            orig_bytes=rng.randrange(1800, 2400),
            resp_bytes=rng.randrange(3000, 9000),
            sysmon=False,
        )

    return run


def _update(host: Host) -> Callable[[Telemetry, float, random.Random], None]:
    def run(tel: Telemetry, t: float, rng: random.Random) -> None:
        site = rng.choice([s for s in tel.env.sites if s.kind == "update"])
        svchost = tel.state(host).base["svchost"]
        net.resolve(tel, t, host, site.domain, [site.ip], proc=svchost, sysmon=False)
        if site.port == 80:
            net.connect(
                tel,
                t + 0.05,
                host,
                site.ip,
                80,
                proc=svchost,
                service="http",
                dst_name=site.domain,
                duration=0.3,
                orig_bytes=420,
                resp_bytes=rng.randrange(9000, 30000),
                http=net.Http(
                    "GET",
                    site.domain,
                    "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                    "Microsoft-CryptoAPI/10.0",
                    200,
                    0,
                    rng.randrange(9000, 30000),
                    "application/vnd.ms-cab-compressed",
                ),
                sysmon=False,
            )
        else:
            net.https(
                tel,
                t + 0.05,
                host,
                site.ip,
                site.domain,
                svchost,
                duration=rng.uniform(0.2, 3),
                orig_bytes=rng.randrange(1500, 6000),
                resp_bytes=rng.randrange(3000, 20000),
                sysmon=False,
            )

    return run


Kind = Callable[[Telemetry, Host, float, random.Random], None]


def _run_kind(kind: Kind, host: Host, at: float, rng: random.Random, tel: Telemetry) -> None:
    kind(tel, host, at, rng)


def _run_periodic(
    fn: Callable[[Telemetry, float, random.Random], None], at: float, rng: random.Random, tel: Telemetry
) -> None:
    fn(tel, at, rng)


def sources(env: Environment, config: SimConfig) -> list[Iterator[Activity]]:
    """Every benign activity source of the network, each with its own seeded random stream."""
    out: list[Iterator[Activity]] = []
    start, end = config.start_ts, config.end_ts
    mon = next(h for h in env.hosts if h.os == "linux")
    for h in env.hosts:
        rng = random.Random(f"noise:{config.seed}:{h.name}")
        if h.os == "linux":
            out.append(noise_linux.linux_source(h, env, config, rng))
            continue
        out.append(_poisson(h, config, random.Random(rng.getrandbits(64))))
        if config.noise > 0:
            if h.role != "dc":
                out.append(
                    _periodic("ntp", start, end, 3600.0, 0.5, random.Random(rng.getrandbits(64)), _ntp(h))
                )
            out.append(
                _periodic("poll", start, end, 300.0, 2.0, random.Random(rng.getrandbits(64)), _poll(mon, h))
            )
            out.append(
                _periodic(
                    "update", start, end, 4 * 3600.0, 5400.0, random.Random(rng.getrandbits(64)), _update(h)
                )
            )
    return out
