"""The Spark engine: the same compiled Sigma rules over Parquet event data, as Spark jobs (docs/SCALE.md).

PySpark is an optional extra (``pip install 'chainbreaker[spark]'``) and is imported only when a
Spark hunt runs, so this package imports without it.
"""

from chainbreaker.engines.spark.session import (
    DEFAULT_MASTER,
    SparkEngineError,
    java_available,
    pyspark_installed,
    spark_available,
    spark_session,
)

__all__ = [
    "DEFAULT_MASTER",
    "SparkEngineError",
    "java_available",
    "pyspark_installed",
    "spark_available",
    "spark_session",
]
