"""Spark tests run Spark in local mode (``local[2]``); they skip when PySpark or Java is absent.

Each module is marked ``spark`` and grouped on one xdist worker (one JVM for the session).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chainbreaker.engines.spark import spark_available


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if not spark_available():
        pytest.skip("PySpark or a Java runtime is not installed")
    from chainbreaker.engines.spark import spark_session

    session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
