"""The agents YAML: defaults applied key by key, and every malformed case named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from asdrp.agents.config_loader import AgentConfigLoader, ConfigError, SessionMemoryConfig
from asdrp.agents.protocol import AgentException

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "open_agents.yaml"

AGENT = """\
  {name}:
    module: "asdrp.agents.single.chitchat_agent"
    function: "create_chitchat_agent"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_dataclass_defaults() -> None:
    config = SessionMemoryConfig()
    assert (config.type, config.session_id, config.database_path, config.enabled) == ("sqlite", None, None, True)


def test_shipped_config_loads_every_agent_the_spec_names() -> None:
    loader = AgentConfigLoader(REPO_CONFIG)
    assert {"geo", "finance", "support", "api_agent", "chitchat", "clock", "calculator"} <= set(loader.names())
    assert loader.get("support").session_memory.database_path == "data/sessions/support.db"
    assert not loader.get("api_agent").session_memory.is_active


def test_missing_block_takes_defaults_whole_and_partial_block_falls_back_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "agents:\n"
        + AGENT.format(name="plain")
        + AGENT.format(name="partial")
        + "    session_memory:\n      session_id: fixed\n"
        + "defaults:\n  session_memory:\n    type: sqlite\n"
          "    database_path: data/sessions/d.db\n    context_items: 7\n",
    )
    loader = AgentConfigLoader(path)
    plain = loader.get("plain").session_memory
    partial = loader.get("partial").session_memory
    assert (plain.database_path, plain.session_id, plain.context_items) == ("data/sessions/d.db", None, 7)
    assert (partial.database_path, partial.session_id, partial.context_items) == ("data/sessions/d.db", "fixed", 7)


def test_agent_names_are_case_insensitive(tmp_path: Path) -> None:
    loader = AgentConfigLoader(write(tmp_path, "agents:\n" + AGENT.format(name="Geo")))
    assert loader.get("GEO").name == "geo"
    assert loader.get("geo").display_name == "Geo"


def test_unknown_and_disabled_agents_list_valid_names(tmp_path: Path) -> None:
    text = "agents:\n" + AGENT.format(name="one") + AGENT.format(name="two") + "    enabled: false\n"
    loader = AgentConfigLoader(write(tmp_path, text))
    with pytest.raises(AgentException, match=r"Unknown agent 'nope'.*Valid agents: one"):
        loader.get("nope")
    with pytest.raises(AgentException, match=r"disabled.*Valid agents: one"):
        loader.get("two")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("agents: [unclosed\n", r"malformed YAML: line \d+"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory:\n      type: mongo\n",
         r"agent 'geo'\.session_memory\.type: unknown session type 'mongo'; valid types: sqlite, none"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory:\n      enabled: 'yes'\n",
         r"agent 'geo'\.session_memory\.enabled: expected bool, got str 'yes'"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory:\n      context_items: true\n",
         r"agent 'geo'\.session_memory\.context_items: expected int, got bool"),
        ("agents:\n" + AGENT.format(name="geo") + "    model:\n      temperature: hot\n",
         r"agent 'geo'\.model\.temperature: expected int or float"),
        ("agents:\n  geo:\n    module: asdrp.agents.single.no_such_module\n    function: f\n",
         r"agent 'geo'\.module: cannot import module 'asdrp\.agents\.single\.no_such_module'"),
        ("agents:\n  geo:\n    module: asdrp.agents.single.geo_agent\n    function: create_nothing\n",
         r"agent 'geo'\.function: module 'asdrp\.agents\.single\.geo_agent' has no function 'create_nothing'"),
        ("agents:\n  geo:\n    function: f\n", r"agent 'geo'\.module: is required"),
        ("agents:\n" + AGENT.format(name="geo") + "    sesion_memory: {}\n",
         r"agent 'geo': unknown key\(s\) sesion_memory"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory:\n      session_id: 'a/b'\n",
         r"agent 'geo'\.session_memory\.session_id: .*'a/b'"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory: [1, 2]\n",
         r"agent 'geo'\.session_memory: expected a mapping"),
        ("defaults:\n  session_memory:\n    type: 3\nagents:\n" + AGENT.format(name="geo"),
         r"defaults\.session_memory\.type: expected str"),
        ("agents:\n" + AGENT.format(name="geo") + "    session_memory:\n      type: postgres\n",
         r"agent 'geo'\.session_memory\.url: session type 'postgres' needs a url"),
        ("agents: {}\n", r"agents: no agents are defined"),
    ],
)
def test_malformed_config_names_file_agent_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError, match=expected) as caught:
        AgentConfigLoader(path)
    assert str(caught.value).startswith(str(path))


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read agents configuration"):
        AgentConfigLoader(tmp_path / "absent.yaml")


def test_retention_keys_accept_durations(tmp_path: Path) -> None:
    text = (
        "agents:\n" + AGENT.format(name="geo")
        + "    session_memory:\n      max_age: 30d\n      max_items: 500\n"
        + AGENT.format(name="clock") + "    session_memory:\n      max_age: 90\n"
    )
    loader = AgentConfigLoader(write(tmp_path, text))
    assert loader.get("geo").session_memory.max_age == 30 * 86400
    assert loader.get("geo").session_memory.max_items == 500
    assert loader.get("clock").session_memory.max_age == 90


@pytest.mark.parametrize(("value", "seconds"), [("90s", 90), ("15m", 900), ("1.5h", 5400), ("2w", 14 * 86400)])
def test_retention_durations_follow_the_one_duration_rule(tmp_path: Path, value: str, seconds: float) -> None:
    text = "agents:\n" + AGENT.format(name="geo") + f"    session_memory:\n      max_age: {value}\n"
    assert AgentConfigLoader(write(tmp_path, text)).get("geo").session_memory.max_age == seconds


@pytest.mark.parametrize("value", ["soon", "-3d", "0", "12x", "true"])
def test_bad_retention_duration_is_named(tmp_path: Path, value: str) -> None:
    text = "agents:\n" + AGENT.format(name="geo") + f"    session_memory:\n      max_age: {value}\n"
    with pytest.raises(ConfigError, match=r"agent 'geo'\.session_memory\.max_age"):
        AgentConfigLoader(write(tmp_path, text))


def test_yaml_boolean_agent_name_is_explained(tmp_path: Path) -> None:
    text = "agents:\n  off:\n    module: asdrp.agents.single.chitchat_agent\n    function: create_chitchat_agent\n"
    with pytest.raises(ConfigError, match="agent names must be strings"):
        AgentConfigLoader(write(tmp_path, text))


def test_recall_keys_default_validate_and_turn_off(tmp_path: Path) -> None:
    from asdrp.agents.config_loader import AgentConfigLoader

    def load(block: str) -> object:
        path = tmp_path / "agents.yaml"
        path.write_text(
            "agents:\n  geo:\n    display_name: Geo\n    module: asdrp.agents.single.geo_agent\n"
            f"    function: create_geo_agent\n    session_memory:\n{block}"
        )
        return AgentConfigLoader(path).get("geo").session_memory

    defaults = load("      type: sqlite\n")
    assert (defaults.recall_items, defaults.recall_tokens) == (6, 1000)
    assert load("      recall_items: 0\n").recall_items == 0
    for bad, key in (("      recall_items: -1\n", "recall_items"), ("      recall_tokens: 0\n", "recall_tokens"),
                     ("      recall_items: many\n", "recall_items")):
        with pytest.raises(ConfigError, match=key):
            load(bad)
