"""Profiles in lakemend.yaml: chosen with --profile or $LAKEMEND_PROFILE, today's files unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakemend.errors import ConfigError
from lakemend.project.project import load_project

BASE = """\
name: p
warehouse: ./lake
sources:
  s:
    bronze:
      t: {path: "t/{date}/*.csv", format: csv, columns: {id: string}}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lakemend.yaml").write_text(text, encoding="utf-8")
    return tmp_path


PROFILES = BASE + """\
catalog: {type: sql, uri: "sqlite:///lake/catalog.db"}
aws: {region: eu-west-1}
profiles:
  local:
  aws:
    warehouse: s3://acme-lake/warehouse
    raw: s3://acme-lake/landing
    catalog: {type: glue}
    state: postgresql+psycopg://lake@127.0.0.1:5432/lakemend
    aws: {region: us-east-1, s3: {endpoint_url: "http://127.0.0.1:8333", path_style: true}}
"""


def test_todays_file_loads_unchanged_and_has_no_profile(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, BASE))
    assert project.profile is None
    assert project.config.catalog.type == "sql" and project.config.catalog.uri == "sqlite:///lake/catalog.db"
    assert project.config.catalog.name == "lakemend"
    assert project.config.aws.s3.endpoint_url is None and project.config.aws.s3.path_style is False


def test_the_example_project_loads_unchanged(tmp_path: Path) -> None:
    from lakemend.project.scaffold import init_project

    project = load_project(init_project(tmp_path / "company", "company"))
    assert project.profile is None and project.config.warehouse == "./lake"


def test_no_profile_means_the_top_level_settings(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, PROFILES))
    assert project.config.warehouse == "./lake" and project.config.aws.region == "eu-west-1"
    assert set(project.config.profiles) == {"local", "aws"}


def test_a_profile_replaces_the_keys_it_gives(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, PROFILES), "aws")
    config = project.config
    assert project.profile == "aws"
    assert config.warehouse == "s3://acme-lake/warehouse" and config.raw == "s3://acme-lake/landing"
    assert config.catalog.type == "glue" and config.catalog.name == "glue" and config.catalog.uri is None
    assert config.state.startswith("postgresql+psycopg://")
    assert config.aws.region == "us-east-1"  # the whole aws: section is the profile's
    assert config.aws.s3.endpoint_url == "http://127.0.0.1:8333" and config.aws.s3.path_style
    assert list(project.tables) == ["bronze.t"]  # what the lake holds is the same in every profile


def test_an_empty_profile_is_the_top_level_settings(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, PROFILES), "local")
    assert project.profile == "local" and project.config.warehouse == "./lake"


def test_the_environment_chooses_a_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_PROFILE", "aws")
    assert load_project(write(tmp_path, PROFILES)).config.catalog.type == "glue"
    assert load_project(tmp_path, "local").profile == "local"  # --profile wins over the environment


def test_an_unknown_profile_names_the_file_and_the_profiles(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(write(tmp_path, PROFILES), "prod")
    assert str(tmp_path / "lakemend.yaml") in exc.value.what
    assert "'prod'" in exc.value.what and "local, aws" in exc.value.what


def test_a_profile_on_a_file_without_profiles_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no profile 'aws'; profiles: none"):
        load_project(write(tmp_path, BASE), "aws")


@pytest.mark.parametrize("key", ["name", "sources", "silver", "gold", "profiles"])
def test_a_profile_cannot_change_what_the_lake_holds(tmp_path: Path, key: str) -> None:
    text = BASE + yaml.safe_dump({"profiles": {"aws": {key: {}}}})
    with pytest.raises(ConfigError, match=rf"profiles\.aws\.{key}: a profile cannot change {key}"):
        load_project(write(tmp_path, text), "aws")


def test_a_typo_in_a_profile_names_its_place(tmp_path: Path) -> None:
    text = BASE + "profiles:\n  aws:\n    catalog: {type: glu}\n    aws: {s3: {path_styl: true}}\n"
    with pytest.raises(ConfigError) as exc:
        load_project(write(tmp_path, text), "aws")
    assert "profiles.aws.catalog.type: must be 'sql', 'jdbc', 'glue' or 'rest'" in exc.value.what
    assert "profiles.aws.aws.s3.path_styl: unknown key" in exc.value.what
    load_project(tmp_path)  # the broken profile is not applied without being chosen


def test_catalog_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="catalog: a rest catalog needs uri"):
        load_project(write(tmp_path, BASE + "catalog: {type: rest}\n"))
    with pytest.raises(ConfigError, match="catalog: a glue catalog takes no uri"):
        load_project(write(tmp_path, BASE + "catalog: {type: glue, uri: 'sqlite:///x.db'}\n"))
    jdbc = load_project(write(tmp_path, BASE + "catalog: {type: jdbc}\n")).config.catalog
    assert jdbc.is_sql and jdbc.uri == "sqlite:///lake/catalog.db" and jdbc.name == "lakemend"


def test_cli_profile_option(tmp_path: Path, cli) -> None:  # noqa: ANN001 - the cli fixture
    root = write(tmp_path, PROFILES)
    result = cli("--project", str(root), "--profile", "prod", "status")
    assert result.code != 0
    assert "no profile 'prod'; profiles: local, aws" in result.err
    assert "Traceback" not in result.err


def test_cli_profile_from_the_environment(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    root = write(tmp_path, PROFILES)
    monkeypatch.setenv("LAKEMEND_PROFILE", "staging")
    result = cli("--project", str(root), "status")
    assert result.code != 0 and "no profile 'staging'; profiles: local, aws" in result.err
    assert cli("--project", str(root), "--profile", "local", "status").code == 0  # the option wins
