"""Starting Spark: is it installed, and a session configured the way the engine needs it."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from chainbreaker.errors import ChainbreakerError, UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"

#: Settings the engine relies on; ``--conf`` style overrides may add to them but not change them.
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.caseSensitive": "true",  # ``User`` and ``user`` are different columns
    "spark.sql.ansi.enabled": "false",  # unparsable text becomes null (Polars ``strict=False``)
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.mergeSchema": "true",  # part files carry different original columns
    # Polars writes nanosecond timestamps, which Spark's Parquet reader accepts only as longs
    "spark.sql.legacy.parquet.nanosAsLong": "true",
}
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
    # The rule projection is one large expression: its generated Java exceeds the JVM's 64 KB
    # method limit and Spark falls back after trying, which costs more than it saves at the sizes
    # we measured (docs/BENCHMARKS.md "Spark"); interpret it.
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


class SparkEngineError(ChainbreakerError, RuntimeError):
    """The Spark engine could not start or a Spark job failed."""


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java"))))


def pyspark_installed() -> bool:
    return importlib.util.find_spec("pyspark") is not None


def spark_available() -> bool:
    """Whether ``--engine spark`` can run here (PySpark installed and a Java runtime found)."""
    return pyspark_installed() and java_available()


def session_conf(conf: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings a new session gets: defaults, then the caller's, then what the engine requires.

    Matched rows come to the driver (they become alerts there), so the driver's memory is the real
    bound on a hunt's results; unless set, ``spark.driver.maxResultSize`` follows
    ``spark.driver.memory`` instead of Spark's fixed 1 GiB, so one setting sizes a large hunt.
    """
    settings = {**DEFAULT_CONF, **dict(conf or {}), **REQUIRED_CONF}
    settings.setdefault("spark.driver.maxResultSize", settings["spark.driver.memory"])
    return settings


def spark_session(
    master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None, app_name: str = "chainbreaker"
) -> SparkSession:
    """A session on ``master`` (``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...``).

    Reuses the active session when there is one (tests, notebooks, ``spark-submit``).
    """
    if not pyspark_installed():
        raise UsageError("the Spark engine needs PySpark: pip install 'chainbreaker[spark]'")
    if not java_available():
        raise UsageError("the Spark engine needs a Java runtime (17 or later): set JAVA_HOME or PATH")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).master(master)
    for key, value in session_conf(conf).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j / JVM start-up errors have no common base class
        raise SparkEngineError(f"could not start Spark on {master}: {exc}") from exc
    for key, value in REQUIRED_CONF.items():  # an existing session keeps its own settings otherwise
        try:
            session.conf.set(key, value)
        except Exception:  # static settings of an existing session cannot change
            continue
    return session
