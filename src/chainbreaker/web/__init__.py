"""The analyst workbench: a FastAPI app (REST API + HTML UI) over the result store (docs/WORKBENCH.md).

``chainbreaker serve`` builds it with :func:`create_app`; every script and style it uses is served
by the app itself, so it works without internet access.
"""

from chainbreaker.web.app import create_app
from chainbreaker.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
