

def test_a_window_reaching_before_year_one_is_a_usage_error() -> None:
    import pytest

    from aios.errors import ConfigError
    from aios.observability.window import parse_since

    with pytest.raises(ConfigError, match="too far back"):
        parse_since("99999999w")
