"""``navigator``: ATT&CK Navigator layers (layer format 4.5), one for the run and one per incident.

A technique's score is the number of alerts that cite it; its comment lists the rules. Techniques
carry no ``tactic`` field, so the Navigator shows them under every tactic they belong to.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from chainbreaker import __version__
from chainbreaker.frameworks import attack
from chainbreaker.outputs.base import FetchEvent, Output, alerts_of, incidents_of, no_events, safe_name
from chainbreaker.outputs.registry import register

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
GRADIENT = ["#ffffff", "#ffb366", "#e60d0d"]


def attack_version() -> str:
    return str(attack().version).split(".", 1)[0]


def layer(
    name: str, description: str, scores: Mapping[str, float], comments: Mapping[str, Iterable[str]]
) -> dict[str, Any]:
    """A Navigator layer over ``scores`` (technique id -> score), comments joined per technique."""
    top = max(scores.values(), default=0)
    return {
        "name": name,
        "versions": {"attack": attack_version(), "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "description": description,
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": [
            {
                "techniqueID": tid,
                "score": scores[tid],
                "comment": "; ".join(dict.fromkeys(comments.get(tid, ()))),
                "enabled": True,
                "showSubtechniques": False,
            }
            for tid in sorted(scores)
        ],
        "gradient": {"colors": GRADIENT, "minValue": 0, "maxValue": max(1, top)},
        "legendItems": [],
        "metadata": [{"name": "generator", "value": f"chainbreaker {__version__}"}],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _alert_layer(name: str, description: str, alerts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    scores: Counter[str] = Counter()
    comments: dict[str, list[str]] = defaultdict(list)
    for alert in alerts:
        for tid in alert.get("techniques") or []:
            scores[tid] += 1
            comments[tid].append(str(alert.get("title") or alert.get("rule_id")))
    return layer(name, description, dict(scores), comments)


@register
class NavigatorOutput(Output):
    name = "navigator"
    description = "ATT&CK Navigator layers (format 4.5): the whole run and one per incident."
    files = ("navigator.json", "navigator-<incident>.json")

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        alerts = alerts_of(result)
        by_id = {a.get("id"): a for a in alerts}
        run = _alert_layer(
            "chainbreaker run", f"{len(alerts)} alert(s), techniques scored by alert count", alerts
        )
        path = out_dir / "navigator.json"
        path.write_bytes(orjson.dumps(run, option=orjson.OPT_INDENT_2))
        written = [path]
        for incident in incidents_of(result):
            members = [by_id[i] for i in incident.get("alert_ids") or [] if i in by_id]
            inc_layer = _alert_layer(
                f"{incident['id']}", f"score {incident.get('score')}: {incident.get('title', '')}", members
            )
            inc_path = out_dir / f"navigator-{safe_name(str(incident['id']))}.json"
            inc_path.write_bytes(orjson.dumps(inc_layer, option=orjson.OPT_INDENT_2))
            written.append(inc_path)
        return written
