from tests.helpers import invoke


def test_help_lists_exit_codes():
    out = invoke(["--help"]).stdout
    assert "Exit codes" in out
    assert "2  usage, configuration or infrastructure error" in out
