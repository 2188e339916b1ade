from typer.testing import CliRunner

from chainbreaker import __version__
from chainbreaker.cli import app

runner = CliRunner()


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"chainbreaker {__version__}"
