"""Workbench fixtures: a store filled from a result document the real correlator built, an app on it.

The result document comes from tests/store/store_scenario.py (alerts built there, incidents made by
chainbreaker.correlate), which holds the hostile strings the XSS checks look for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent.parent / "store"))

from store_scenario import result_document

from chainbreaker.store import save_result
from chainbreaker.web import WebSettings, create_app

UPLOAD_LIMIT = 64 * 1024


@pytest.fixture
def doc() -> dict[str, Any]:
    return result_document()


@pytest.fixture
def settings(tmp_path: Path, doc: dict[str, Any]) -> WebSettings:
    store = tmp_path / "store" / "store.db"
    store.parent.mkdir()
    save_result(store, doc, {"run_id": "RUN-scenario"})
    root = tmp_path / "root"
    (root / "logs").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("outside the root\n")
    return WebSettings(
        store=str(store), data_dir=tmp_path / "data", allowed_root=root, max_upload_bytes=UPLOAD_LIMIT
    )


@pytest.fixture
def client(settings: WebSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def token(client: TestClient) -> str:
    value: str = client.app.state.token  # type: ignore[attr-defined]
    return value


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Analyst": "soar-bot"}
