"""Build of the optional C extension; everything else is in pyproject.toml.

``chainbreaker.readers._evtxflat`` flattens EVTX records in C (see its header comment). It is
optional: without a compiler the package still installs and the EVTX reader takes its pure Python
path (readers/evtx.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "chainbreaker.readers._evtxflat",
            ["src/chainbreaker/readers/_evtxflat.c"],
            extra_compile_args=["-Wall"],
            optional=True,
        )
    ]
)
