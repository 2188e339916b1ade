from __future__ import annotations

import pytest

from chainbreaker.alerts import Level
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.errors import ConfigError


def test_defaults_and_overrides() -> None:
    default = CorrelateSettings.from_mapping(None)
    assert default.window == 12 * 3600 and default.min_level is Level.medium
    custom = CorrelateSettings.from_mapping(
        {
            "correlate": {"window": "30m", "finding_window": 90, "min_level": "high"},
            "assets": {"crown_jewels": ["DC*"]},
        }
    )
    assert (custom.window, custom.finding_window, custom.min_level) == (1800, 90, Level.high)
    assert custom.crown_jewels == ("dc*",)
    assert CorrelateSettings.from_mapping({"window": "2d"}).window == 2 * 86400  # bare [correlate] section
    other_sections = {"analytics": {"beaconing": {"min_connections": 30}}, "correlate": {"window": 60}}
    assert CorrelateSettings.from_mapping(other_sections).window == 60
    assert CorrelateSettings.from_mapping({"analytics": {}}).window == 12 * 3600


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"correlate": {"windw": "1h"}}, "unknown correlation settings: windw"),
        ({"correlate": {"window": "soon"}}, "window: expected a duration"),
        ({"correlate": {"window": 0}}, "must be positive"),
        ({"correlate": {"min_level": "severe"}}, "min_level"),
        ({"correlate": {"link_users": "yes"}}, "link_users: expected true or false"),
        ({"correlate": {"internal_networks": ["10.0.0.0/33"]}}, "internal_networks"),
        ({"assets": {"addresses": ["10.0.0.1"]}}, "assets.addresses"),
    ],
)
def test_bad_settings_fail_at_construction(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CorrelateSettings.from_mapping(config)
