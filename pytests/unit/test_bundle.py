"""The Databricks Asset Bundle (databricks.yml, resources/), validated offline: the Databricks CLI cannot be
installed here, so each target's variables are resolved as the CLI would, every job is loaded into the typed
resources of the `databricks-bundles` package (unknown keys and wrong values are errors), and every task's entry
point is checked against this project: the wheel's console script and its arguments, the Python file and its
arguments, and each dbt command against dbt's own command line."""

from __future__ import annotations

import glob
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import tomllib
import yaml

from runtime.project import PROJECT_ROOT, environments

BUNDLE = PROJECT_ROOT / "databricks.yml"
BUNDLE_KEYS = {"bundle", "include", "variables", "artifacts", "targets", "resources", "workspace", "sync", "run_as"}
TARGET_KEYS = {"mode", "default", "workspace", "variables", "run_as", "resources", "presets", "artifacts"}
# What the CLI substitutes itself, for a developer `alice@example.com` deploying dev.
BUILTINS = {
    "workspace.current_user.short_name": "alice",
    "workspace.current_user.userName": "alice@example.com",
    "workspace.file_path": "/Workspace/Users/alice@example.com/.bundle/lakehouse/{target}/files",
    "bundle.name": "lakehouse",
    "bundle.target": "{target}",
}
# Values given at deploy time (`databricks bundle deploy -t prod --var warehouse_id=...`, README).
DEPLOY_VARS = {"warehouse_id": "0123456789abcdef", "notification_email": "data-oncall@example.com"}
PROD_VARS = {"service_principal": "00000000-0000-0000-0000-00000000000a"}
REFERENCE = re.compile(r"\$\{([a-zA-Z_][\w.]*)\}")


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def bundle() -> dict:
    """databricks.yml with the files it includes merged in (resources by kind and name)."""
    root = _yaml(BUNDLE)
    assert set(root) <= BUNDLE_KEYS, set(root) - BUNDLE_KEYS
    resources: dict = {}
    for pattern in root.get("include", []):
        files = sorted(glob.glob(str(PROJECT_ROOT / pattern)))
        assert files, f"include {pattern} matches no file"
        for file in files:
            included = _yaml(Path(file))
            assert set(included) <= {"resources"}, file
            for kind, entries in included["resources"].items():
                for name, definition in entries.items():
                    assert name not in resources.setdefault(kind, {}), f"{kind}.{name} defined twice"
                    resources[kind][name] = {**definition, "_file": file}
    return {**root, "resources": resources}


def resolve(value, values: dict[str, str]):
    """`value` with every ${...} replaced, as the CLI does (nested references resolved too)."""
    if isinstance(value, dict):
        return {key: resolve(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, values) for item in value]
    if not isinstance(value, str):
        return value
    for _ in range(5):
        replaced = REFERENCE.sub(lambda match: str(values[match.group(1)]), value)
        if replaced == value:
            break
        value = replaced
    assert not REFERENCE.search(value), value
    return value


def target_values(definition: dict, target: str, deploy: dict[str, str]) -> dict[str, str]:
    """Every ${...} of `target`: the built-ins, then var.<name> from the target, the deploy-time --var, or the
    variable's default; a variable with none of them is an error, as in `databricks bundle validate`."""
    settings = definition["targets"][target]
    assert set(settings) <= TARGET_KEYS, set(settings) - TARGET_KEYS
    values = {name: text.format(target=target) for name, text in BUILTINS.items()}
    declared = definition["variables"]
    unknown = set(settings.get("variables", {})) - set(declared)
    assert not unknown, f"{target} sets undeclared variables {unknown}"
    chosen = {
        **{name: variable.get("default") for name, variable in declared.items()},
        **settings.get("variables", {}),
        **deploy,
    }
    missing = [name for name in declared if chosen[name] is None]
    values.update({f"var.{name}": chosen[name] for name in declared})
    assert not missing, f"{target}: no value for {missing}"
    return values


def jobs(target: str, deploy: dict[str, str] | None = None) -> dict:
    """The target's jobs, resolved and loaded into databricks-bundles' typed Job."""
    from databricks.bundles.jobs import Job

    definition = bundle()
    deploy = {**DEPLOY_VARS, **(PROD_VARS if target == "prod" else {}), **(deploy or {})}
    values = target_values(definition, target, deploy)
    loaded = {}
    for name, job in definition["resources"]["jobs"].items():
        raw = {key: item for key, item in job.items() if key != "_file"}
        loaded[name] = (Job.from_dict(resolve(raw, values)), Path(job["_file"]).parent)
    return loaded


def _tasks(job) -> dict:
    return {task.task_key: task for task in job.tasks}


TARGETS = ["dev", "test", "prod"]


def test_one_target_per_environment():
    definition = bundle()
    assert list(definition["targets"]) == environments()
    assert [name for name, target in definition["targets"].items() if target.get("default")] == ["dev"]
    assert definition["targets"]["dev"]["mode"] == "development"
    assert {definition["targets"][name]["mode"] for name in ("test", "prod")} == {"production"}


@pytest.mark.parametrize("target", TARGETS)
def test_every_job_loads_into_typed_resources(target):
    loaded = jobs(target)
    assert list(loaded) == ["lakehouse"]
    job, _ = loaded["lakehouse"]
    assert job.name == f"lakehouse-{target}"
    assert job.max_concurrent_runs == 1
    assert job.email_notifications.on_failure == [DEPLOY_VARS["notification_email"]]
    assert job.schedule.quartz_cron_expression and job.schedule.timezone_id == "UTC"


def test_typed_resources_refuse_what_the_cli_would():
    """The loader is strict: a misspelt key fails, so the test above can fail."""
    from databricks.bundles.jobs import Job

    with pytest.raises(ValueError, match="Unexpected field 'max_concurent_runs'"):
        Job.from_dict({"name": "x", "max_concurent_runs": 1})


def test_ingestion_then_dbt_build_then_source_freshness():
    job, _ = jobs("test")["lakehouse"]
    tasks = _tasks(job)
    assert list(tasks) == ["choose_ingestion", "ingest", "ingest_autoloader", "dbt_build", "source_freshness"]
    depends = {key: [(d.task_key, d.outcome) for d in task.depends_on] for key, task in tasks.items()}
    assert depends == {
        "choose_ingestion": [],
        "ingest": [("choose_ingestion", "false")],
        "ingest_autoloader": [("choose_ingestion", "true")],
        "dbt_build": [("ingest", None), ("ingest_autoloader", None)],
        "source_freshness": [("dbt_build", None)],
    }
    assert tasks["dbt_build"].run_if.value == "AT_LEAST_ONE_SUCCESS"  # the one branch that ran
    for key in ("ingest", "ingest_autoloader", "dbt_build"):
        assert tasks[key].max_retries and tasks[key].min_retry_interval_millis, key
    dbt_tasks = [task for task in tasks.values() if task.dbt_task]
    assert [task.task_key for task in dbt_tasks] == ["dbt_build", "source_freshness"]
    assert all(task.dbt_task.warehouse_id == DEPLOY_VARS["warehouse_id"] for task in dbt_tasks)


@pytest.mark.parametrize("choice", ["wheel", "autoloader"])
def test_the_ingestion_is_chosen_in_config(choice):
    """The `ingestion` variable becomes the job parameter the condition task compares: only one branch runs."""
    job, _ = jobs("test", {"ingestion": choice})["lakehouse"]
    [parameter] = [p for p in job.parameters if p.name == "ingestion"]
    assert parameter.default == choice
    condition = _tasks(job)["choose_ingestion"].condition_task
    assert condition.left == "{{job.parameters.ingestion}}" and condition.op.value == "EQUAL_TO"
    assert condition.right == "autoloader"
    assert bundle()["variables"]["ingestion"]["default"] == "wheel"


def test_environments_are_isolated():
    """dev: the developer's own schemas in the dev catalog, paused; prod: a service principal, the only target
    allowed to write prod."""
    seen = {}
    for target in TARGETS:
        job, _ = jobs(target)["lakehouse"]
        [cluster] = job.job_clusters
        env = cluster.new_cluster.spark_env_vars
        catalog = cluster.new_cluster.spark_conf["spark.databricks.sql.initial.catalog.name"]
        dbt = _tasks(job)["dbt_build"].dbt_task
        seen[target] = (env["LAKEHOUSE_ENV"], env["LAKEHOUSE_DEVELOPER"], env["LAKEHOUSE_ALLOW_PROD"], catalog)
        assert dbt.catalog == catalog and job.schedule.pause_status.value == (
            "UNPAUSED" if target == "prod" else "PAUSED"
        )
        assert dbt.schema == ("dev_alice" if target == "dev" else target)
    assert seen == {
        "dev": ("dev", "alice", "no", "lakehouse_dev"),
        "test": ("test", "", "no", "lakehouse_test"),
        "prod": ("prod", "", "yes", "lakehouse_prod"),
    }
    definition = bundle()
    run_as = resolve(
        definition["targets"]["prod"]["run_as"], target_values(definition, "prod", {**DEPLOY_VARS, **PROD_VARS})
    )
    assert run_as == {"service_principal_name": PROD_VARS["service_principal"]}
    assert all("run_as" not in definition["targets"][name] for name in ("dev", "test"))


# Entry points -------------------------------------------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def test_the_wheel_task_runs_the_projects_console_script_with_valid_arguments():
    from runtime.cli import build_parser

    job, folder = jobs("prod")["lakehouse"]
    task = _tasks(job)["ingest"]
    wheel = task.python_wheel_task
    project = _pyproject()["project"]
    assert wheel.package_name == project["name"]
    assert project["scripts"][wheel.entry_point] == "runtime.cli:main"
    args = build_parser().parse_args(wheel.parameters)  # argparse exits on an unknown command or option
    assert args.func.__name__ == "cmd_ingest_run"
    assert [library.whl for library in task.libraries] == ["../dist/*.whl"]
    artifact = bundle()["artifacts"]["lakehouse"]
    assert artifact["type"] == "whl" and "--wheel-dir dist" in artifact["build"]
    assert (folder / "../dist").resolve() == PROJECT_ROOT / "dist"


def test_the_auto_loader_task_runs_a_project_file_with_valid_arguments():
    job, folder = jobs("prod")["lakehouse"]
    task = _tasks(job)["ingest_autoloader"].spark_python_task
    path = (folder / task.python_file).resolve()
    assert path.is_file() and path.is_relative_to(PROJECT_ROOT)
    spec = importlib.util.spec_from_file_location("autoloader_job", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.build_parser().parse_args(task.parameters)
    assert args.checkpoints == "/Volumes/lakehouse_prod/landing/checkpoints/prod"
    assert "run_autoloader" in path.read_text()  # it is ingestion/autoloader.py that it runs


def test_dbt_commands_are_valid_dbt_command_lines(monkeypatch):
    from dbt.cli.main import cli

    monkeypatch.setenv("DBT_PROFILES_DIR", str(PROJECT_ROOT / "profiles"))  # the dbt task writes its own there

    job, _ = jobs("prod")["lakehouse"]
    commands = [command for task in job.tasks if task.dbt_task for command in task.dbt_task.commands]
    assert len(commands) == 2
    parsed = []
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "dbt", command
        group, rest = cli, words[1:]
        while hasattr(group, "commands") and rest and rest[0] in group.commands:
            group, rest = group.commands[rest[0]], rest[1:]
        context = group.make_context(group.name, rest)  # click raises on an unknown option or argument
        parsed.append((group.name, context.params))
    (build, params), (freshness, _) = parsed
    assert (build, freshness) == ("build", "freshness")
    assert params["exclude_resource_types"] == ("unit_test",)  # unit tests follow code (CI), not data
    assert params["vars"] == {
        "analysts_group": "lakehouse-analysts",
        "engineers_group": "lakehouse-engineers",
        "ingestion_principal": "lakehouse-ingestion",
    }
