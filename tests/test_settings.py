from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "numlookup.toml"


def test_the_shipped_example_config_loads() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.http.port == 8080
    assert settings.ami.event == "Num"
    assert settings.data.brands.name == "brands.toml"


def test_environment_with_nesting_wins_over_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "n.toml"
    config.write_text('data_dir = "/srv/a"\n[http]\nport = 9000\n[ami]\nhost = "pbx"\n', encoding="utf-8")
    monkeypatch.setenv("NUMLOOKUP_HTTP__PORT", "9100")
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("NUMLOOKUP_AMI__SECRET", "s3cret")
    settings = load_settings(config)
    assert settings.http.port == 9100
    assert settings.data_dir == Path("/srv/a")
    assert settings.redis.url == "redis://127.0.0.1:6379/3"
    assert settings.ami.all_servers()[0].host == "pbx"
    assert settings.ami.secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_data_dir_env_and_per_user_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMLOOKUP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/home/u/.data")
    assert load_settings().data_dir == Path("/home/u/.data/numlookup")
    monkeypatch.setenv("NUMLOOKUP_DATA_DIR", "/var/lib/numlookup")
    assert load_settings().data_dir == Path("/var/lib/numlookup")


@pytest.mark.parametrize("content", ["[http]\nprot = 1\n", "typo = 1\n", "[http]\nport = 'x'\n"])
def test_a_typo_is_an_error_not_a_silent_default(tmp_path: Path, content: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(config)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_exempt_networks_and_staleness_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(EXAMPLE).http.rate_limit_exempt == ["127.0.0.0/8", "::1/128"]  # the default
    monkeypatch.setenv("NUMLOOKUP_HTTP__RATE_LIMIT_EXEMPT", '["127.0.0.0/8","::1/128","10.20.0.0/24"]')
    monkeypatch.setenv("NUMLOOKUP_DATA__STALE_AFTER_DAYS", "45")
    monkeypatch.setenv("NUMLOOKUP_DATA__FETCH_ON_START", "false")
    settings = load_settings()
    assert settings.http.rate_limit_exempt == ["127.0.0.0/8", "::1/128", "10.20.0.0/24"]
    assert (settings.data.stale_after_days, settings.data.fetch_on_start) == (45, False)
    monkeypatch.setenv("NUMLOOKUP_DATA__STALE_AFTER_DAYS", "0")
    with pytest.raises(ConfigError):
        load_settings()


def test_sentinel_and_cluster_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMLOOKUP_REDIS__SENTINELS", '["10.0.0.1:26379", "sentinel-b:26380"]')
    monkeypatch.setenv("NUMLOOKUP_REDIS__SERVICE", "numbers")
    settings = load_settings()
    assert settings.redis.configured
    assert settings.redis.sentinel_addresses() == [("10.0.0.1", 26379), ("sentinel-b", 26380)]
    assert settings.redis.service == "numbers"
    monkeypatch.delenv("NUMLOOKUP_REDIS__SENTINELS")
    assert not load_settings().redis.configured
    monkeypatch.setenv("NUMLOOKUP_REDIS__CLUSTER", "true")
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", "redis://10.0.0.5:7000/0")
    assert load_settings().redis.cluster


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NUMLOOKUP_REDIS__SENTINELS", '["10.0.0.1"]', "a sentinel is host:port"),
        ("NUMLOOKUP_REDIS__SENTINELS", '["10.0.0.1:99999"]', "a sentinel is host:port"),
        ("NUMLOOKUP_REDIS__CLUSTER", "true", "redis.cluster needs redis.url"),
    ],
)
def test_bad_high_availability_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.delenv("NUMLOOKUP_REDIS__URL", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_sentinels_and_cluster_exclude_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMLOOKUP_REDIS__SENTINELS", '["10.0.0.1:26379"]')
    monkeypatch.setenv("NUMLOOKUP_REDIS__CLUSTER", "true")
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", "redis://10.0.0.5:7000/0")
    with pytest.raises(ConfigError, match="exclude each other"):
        load_settings()


def test_the_api_runs_one_process_per_core_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMLOOKUP_HTTP__WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert load_settings().http.workers == 3
    monkeypatch.setenv("NUMLOOKUP_HTTP__WORKERS", "1")
    assert load_settings().http.workers == 1
