"""Values the simulator works with: its configuration, the simulated network and ground-truth labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from chainbreaker.errors import UsageError

#: Default start of the simulated window: a Monday morning, so working hours show in the noise.
DEFAULT_START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)

#: Default benign activity rate: activities per Windows host per hour (an activity writes 2-6 records).
DEFAULT_NOISE = 60.0

KILLCHAIN_PHASE_IDS = (
    "reconnaissance",
    "weaponization",
    "delivery",
    "exploitation",
    "installation",
    "command-and-control",
    "actions-on-objectives",
)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What ``chainbreaker simulate`` was asked for. Same config and seed -> byte-identical output."""

    hosts: int = 6  # Windows hosts (a Linux admin/monitoring server is always added)
    days: float = 1.0
    noise: float = DEFAULT_NOISE
    seed: int = 1
    start: datetime = DEFAULT_START

    def __post_init__(self) -> None:
        if self.hosts < 3:
            raise UsageError(
                "--hosts must be at least 3 (domain controller, "
                f"file server, a workstation), got {self.hosts}"
            )
        if self.hosts > 5000:
            raise UsageError(f"--hosts must be at most 5000, got {self.hosts}")
        if not 0 < self.days <= 366:
            raise UsageError(f"--days must be in (0, 366], got {self.days}")
        if self.noise < 0:
            raise UsageError(f"--noise must not be negative, got {self.noise}")
        if self.start.tzinfo is None:
            raise UsageError("the start time must be timezone-aware")

    @property
    def start_ts(self) -> float:
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.days * 86400.0


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth for the records one attack step writes."""

    step: str
    phase: str  # Lockheed Martin kill-chain phase id (KILLCHAIN_PHASE_IDS)
    technique: str  # ATT&CK technique id, e.g. T1059.001
    tactic: str  # ATT&CK tactic short name, e.g. execution, stealth

    def __post_init__(self) -> None:
        if self.phase not in KILLCHAIN_PHASE_IDS:
            raise ValueError(f"unknown kill-chain phase {self.phase!r} for step {self.step!r}")
        if not self.technique.startswith("T"):
            raise ValueError(f"technique {self.technique!r} of step {self.step!r} is not an ATT&CK id")


@dataclass(frozen=True, slots=True)
class User:
    sam: str  # sAMAccountName
    display: str
    sid: str
    admin: bool = False
    spn: str | None = None  # service accounts carry an SPN (Kerberoasting targets)


@dataclass(frozen=True, slots=True)
class Host:
    name: str  # WKS-01 (NetBIOS, upper case) or lnx-mon01
    ip: str
    role: str  # dc, fileserver, workstation, mft, terminal, linux
    os: str  # windows | linux
    domain: str
    user: User | None = None  # the person who works on it (workstations and terminal servers)
    sid_prefix: str = ""  # machine-specific prefix of ProcessGuids

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain}" if self.os == "windows" else self.name

    @property
    def is_windows(self) -> bool:
        return self.os == "windows"


@dataclass(frozen=True, slots=True)
class Site:
    """A benign external service the users and servers talk to."""

    domain: str
    ip: str
    port: int = 443
    kind: str = "web"  # web, update, ntp, mail


@dataclass(frozen=True)
class Environment:
    domain: str
    netbios: str
    domain_sid: str
    hosts: tuple[Host, ...]
    users: tuple[User, ...]
    public_ip: str  # the organisation's NAT / published address (RFC 5737 TEST-NET-1)
    sites: tuple[Site, ...]
    by_name: dict[str, Host] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({h.name: h for h in self.hosts})

    def role(self, role: str) -> list[Host]:
        return [h for h in self.hosts if h.role == role]

    def first(self, role: str) -> Host:
        hosts = self.role(role)
        if not hosts:
            raise UsageError(f"the simulated network has no {role} host")
        return hosts[0]

    @property
    def dc(self) -> Host:
        return self.first("dc")

    @property
    def windows_hosts(self) -> list[Host]:
        return [h for h in self.hosts if h.is_windows]

    def user(self, sam: str) -> User:
        for u in self.users:
            if u.sam == sam:
                return u
        raise KeyError(sam)
