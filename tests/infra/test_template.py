"""template.yaml against the code: handlers and routes, tables and models, the bucket, the API and permissions.

Given the template and the code as they are, these read both and compare; no AWS is needed, except the last tests,
which provision the template into moto (the `aws` fixture) and read back what was stored.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import MISSING, fields
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from doti.public_urls import check_base_url
from doti.settings import Settings, SettingsError
from doti.store.keys import RETENTION_CLASSES, RETENTION_TAG, retention_class
from doti.store.models import MODEL_TABLES
from functions.processor import app as processor_app
from infra import package_size
from infra.gateway import load_handler_module
from infra.provision import Provisioned
from infra.template import (
    ROOT,
    TEMPLATE_PATH,
    FunctionSpec,
    IntrinsicResolver,
    api_routes,
    functions,
    load_template,
    rate_seconds,
)

# Read at collection time: the parameters below are the template's own functions, tables and rules.
TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
GLOBAL_FUNCTION = TEMPLATE["Globals"]["Function"]
GLOBAL_ENV: dict[str, Any] = GLOBAL_FUNCTION["Environment"]["Variables"]
FUNCTIONS = functions(TEMPLATE)
IMAGING_LAYER = "ImagingLayer"
OPENCV_PIXEL_LIMIT = "OPENCV_IO_MAX_IMAGE_PIXELS"


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res.get("Properties", {}) for name, res in RESOURCES.items() if res["Type"] == kind}


TABLES = _of_type("AWS::DynamoDB::Table")
LAYERS = package_size.layer_specs(TEMPLATE)
MODELS = list(MODEL_TABLES)


def _ref(value: Any) -> str:
    assert isinstance(value, dict), f"expected !Ref, got {value!r}"
    assert set(value) == {"Ref"}, f"expected !Ref, got {value!r}"
    return value["Ref"]


def _get_att_arn(value: Any) -> str:
    assert isinstance(value, dict), f"expected !GetAtt X.Arn, got {value!r}"
    assert set(value) == {"Fn::GetAtt"}, f"expected !GetAtt X.Arn, got {value!r}"
    logical, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn"
    return logical


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _handler_module(logical_id: str) -> ModuleType:
    # load_handler_module registers the module under a name unique to the function; once per test session.
    return load_handler_module(FUNCTIONS[logical_id])


def _template_path(path: str) -> str:
    """Powertools writes path parameters as <name>, API Gateway as {name}."""
    return re.sub(r"<(\w+)>", r"{\1}", path)


def _resolver_routes(module: ModuleType) -> set[tuple[str, str]]:
    resolver = getattr(module, "app", None)
    if not isinstance(resolver, ApiGatewayResolver):
        return set()
    # The two lists Powertools itself walks to match requests and to build the OpenAPI document.
    routes = [*resolver._static_routes, *resolver._dynamic_routes]
    return {(route.method.upper(), _template_path(route.path)) for route in routes}


# ---------------------------------------------------------------- the template as a whole


@pytest.mark.slow
def test_given_the_template_when_cfn_lint_runs_then_it_passes_silently():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"

    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE_PATH)], capture_output=True, text=True, timeout=300, check=False, cwd=ROOT
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_given_globals_then_every_function_runs_python_3_12():
    assert GLOBAL_FUNCTION["Runtime"] == "python3.12"
    overrides = {name: res["Properties"].get("Runtime") for name, res in RESOURCES.items() if name in FUNCTIONS}
    assert {name: runtime for name, runtime in overrides.items() if runtime not in {None, "python3.12"}} == {}


def test_given_settings_then_globals_set_every_variable_they_read():
    required = {field.name.upper() for field in fields(Settings) if field.name != "region" and field.default is MISSING}

    assert required - set(GLOBAL_ENV) == set()


def test_given_the_template_then_no_function_lowers_the_password_hash_cost():
    # PASSWORD_SCRYPT_N exists for the test suite only: deployed, every function hashes at the production cost
    environments = [GLOBAL_FUNCTION, *(RESOURCES[name]["Properties"] for name in FUNCTIONS)]
    variables = [set(env.get("Environment", {}).get("Variables", {})) for env in environments]

    assert [names for names in variables if "PASSWORD_SCRYPT_N" in names] == []


def test_given_the_template_then_no_function_may_send_webhooks_to_loopback_and_events_are_on():
    # WEBHOOKS_ALLOW_LOOPBACK is the local stack's (infra/local.py): deployed, webhooks go to public addresses only
    environments = [GLOBAL_FUNCTION, *(RESOURCES[name]["Properties"] for name in FUNCTIONS)]
    variables = [set(env.get("Environment", {}).get("Variables", {})) for env in environments]

    assert [names for names in variables if "WEBHOOKS_ALLOW_LOOPBACK" in names] == []
    assert "EVENTS_QUEUE_URL" in GLOBAL_ENV  # optional in Settings (a bench turns events off), never deployed off


# ---------------------------------------------------------------- handlers, routes and schedules


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_when_its_handler_is_imported_then_the_attribute_is_callable(logical_id: str):
    spec: FunctionSpec = FUNCTIONS[logical_id]

    module = _handler_module(logical_id)

    assert callable(getattr(module, spec.attribute, None)), f"{spec.handler} in {spec.code_uri}"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_its_api_events_and_its_resolver_routes_are_the_same_set(logical_id: str):
    in_template = {(route.method, route.path) for route in api_routes(TEMPLATE) if route.function == logical_id}

    in_code = _resolver_routes(_handler_module(logical_id))

    assert (in_template - in_code, in_code - in_template) == (set(), set()), "(template only, code only)"


def test_given_all_api_events_then_no_method_and_path_is_claimed_twice():
    keys = [(route.method, route.path) for route in api_routes(TEMPLATE)]

    assert sorted({key for key in keys if keys.count(key) > 1}) == []


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_api_events_then_they_all_use_the_explicit_api_with_binary_media_types(logical_id: str):
    events = RESOURCES[logical_id]["Properties"].get("Events", {})
    # An Api event without RestApiId lands on SAM's implicit API, which has no binary media types.
    apis = {
        name: (e["Properties"].get("RestApiId") or {}).get("Ref") for name, e in events.items() if e["Type"] == "Api"
    }

    assert {name: api for name, api in apis.items() if api != "DotiApi"} == {}


SCHEDULE_EVENTS = [
    pytest.param(name, event["Properties"]["Schedule"], id=f"{name}-{event_name}")
    for name in FUNCTIONS
    for event_name, event in RESOURCES[name]["Properties"].get("Events", {}).items()
    if event["Type"] == "Schedule"
]


@pytest.mark.parametrize(("logical_id", "expression"), SCHEDULE_EVENTS)
def test_given_a_schedule_event_when_parsed_then_the_local_scheduler_can_fire_it(logical_id: str, expression: str):
    seconds = rate_seconds(expression)

    assert seconds >= 60, f"{logical_id}: {expression}"


# ---------------------------------------------------------------- tables match the PynamoDB models


def _table_of(model: type[Model]) -> tuple[str, dict[str, Any]]:
    variable = MODEL_TABLES[model].upper()
    assert variable in GLOBAL_ENV, f"Globals set no {variable} for {model.__name__}"
    logical = _ref(GLOBAL_ENV[variable])
    assert logical in TABLES, f"{variable} refers to {logical}, which is not a DynamoDB table"
    return logical, TABLES[logical]


def _key_schema(key_schema: list[dict[str, str]], definitions: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    return {k["KeyType"]: (k["AttributeName"], types.get(k["AttributeName"], "undefined")) for k in key_schema}


def _model_key_schema(model: type[Model]) -> dict[str, tuple[str, str]]:
    schema = {}
    for attribute in model.get_attributes().values():
        if attribute.is_hash_key:
            schema["HASH"] = (attribute.attr_name, attribute.attr_type)
        if attribute.is_range_key:
            schema["RANGE"] = (attribute.attr_name, attribute.attr_type)
    return schema


def _model_indexes(model: type[Model]) -> dict[str, dict[str, Any]]:
    return {
        index.Meta.index_name: index._get_schema()
        for index in vars(model).values()
        if isinstance(index, GlobalSecondaryIndex)
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_given_a_model_then_its_table_has_the_same_key_names_and_types(model: type[Model]):
    _, table = _table_of(model)

    in_template = _key_schema(table["KeySchema"], table["AttributeDefinitions"])

    assert in_template == _model_key_schema(model)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_given_a_model_then_each_of_its_indexes_exists_in_the_template_with_the_same_schema(model: type[Model]):
    _, table = _table_of(model)
    in_template = {gsi["IndexName"]: gsi for gsi in table.get("GlobalSecondaryIndexes", [])}
    indexes = _model_indexes(model)

    for name, schema in indexes.items():
        assert name in in_template, f"{model.__name__}.{name} is not in the template"
        gsi = in_template[name]
        assert _key_schema(gsi["KeySchema"], table["AttributeDefinitions"]) == _key_schema(
            schema["key_schema"], schema["attribute_definitions"]
        )
        assert gsi["Projection"]["ProjectionType"] == schema["projection"]["ProjectionType"]
    assert set(indexes) <= set(in_template)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_given_a_model_then_ttl_is_on_exactly_when_it_has_a_numeric_expires_at(model: type[Model]):
    logical, table = _table_of(model)
    ttl = table.get("TimeToLiveSpecification") or {}
    attributes = model.get_attributes()
    # A table that holds several kinds of item (an endpoint and its delivery attempts) has TTL when any kind expires;
    # a kind without the attribute simply never does.
    sharing = [m for m in MODELS if _table_of(m)[0] == logical]
    expected = "expires_at" if any("expires_at" in m.get_attributes() for m in sharing) else None

    assert (ttl.get("AttributeName") if ttl.get("Enabled") else None) == expected
    if expected and expected in attributes:
        assert attributes[expected].attr_type == "N", "TTL needs epoch seconds in a Number attribute"


@pytest.mark.parametrize("logical_id", TABLES)
def test_given_a_table_then_point_in_time_recovery_is_on(logical_id: str):
    pitr = TABLES[logical_id].get("PointInTimeRecoverySpecification", {})

    assert pitr.get("PointInTimeRecoveryEnabled") is True


# ---------------------------------------------------------------- the frames bucket

BUCKET = _ref(GLOBAL_ENV["FRAMES_BUCKET"])
BUCKET_PROPS = RESOURCES[BUCKET]["Properties"]
LIFECYCLE_RULES: list[dict[str, Any]] = BUCKET_PROPS["LifecycleConfiguration"]["Rules"]


def test_given_the_bucket_then_public_access_is_fully_blocked():
    settings = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")

    block = BUCKET_PROPS["PublicAccessBlockConfiguration"]

    assert block == dict.fromkeys(settings, True)


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    secure = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and "s3:*" in _as_list(statement.get("Action"))
        and str(secure).lower() == "false"
    )


def test_given_the_bucket_policy_then_requests_without_tls_are_denied_on_the_bucket_and_its_objects():
    policies = [p for p in _of_type("AWS::S3::BucketPolicy").values() if p["Bucket"] == {"Ref": BUCKET}]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"] if _denies_plain_http(s)]

    assert statements, "no statement denies aws:SecureTransport false"
    resources = [r for s in statements for r in _as_list(s["Resource"])]
    assert {"Fn::GetAtt": [BUCKET, "Arn"]} in resources
    assert {"Fn::Sub": f"${{{BUCKET}.Arn}}/*"} in resources


@pytest.mark.parametrize("days", RETENTION_CLASSES, ids=retention_class)
def test_given_a_retention_class_then_exactly_one_lifecycle_rule_expires_its_tag_after_its_days(days: int):
    tag = [{"Key": RETENTION_TAG, "Value": retention_class(days)}]

    rules = [rule for rule in LIFECYCLE_RULES if rule.get("TagFilters") == tag]

    assert len(rules) == 1
    (rule,) = rules
    assert (rule["Status"], rule.get("ExpirationInDays"), rule.get("Prefix")) == ("Enabled", days, None)


def test_given_the_lifecycle_rules_then_none_is_for_a_class_that_does_not_exist_and_ids_are_unique():
    tagged = {f["Value"] for rule in LIFECYCLE_RULES for f in rule.get("TagFilters", []) if f["Key"] == RETENTION_TAG}
    ids = [rule["Id"] for rule in LIFECYCLE_RULES]

    assert tagged == {retention_class(days) for days in RETENTION_CLASSES}
    assert len(ids) == len(set(ids))


def test_given_the_lifecycle_rules_then_leftover_incoming_uploads_expire():
    rules = [r for r in LIFECYCLE_RULES if r.get("Prefix") == "incoming/" and not r.get("TagFilters")]

    assert [(r["Status"], r.get("ExpirationInDays", 0) >= 1) for r in rules] == [("Enabled", True)]


def test_given_the_lifecycle_rules_then_incomplete_multipart_uploads_are_aborted():
    rules = [r for r in LIFECYCLE_RULES if "AbortIncompleteMultipartUpload" in r]

    assert [(r["Status"], r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1) for r in rules] == [
        ("Enabled", True)
    ]


def _incoming_notification() -> dict[str, Any]:
    matching = [
        q
        for q in BUCKET_PROPS["NotificationConfiguration"]["QueueConfigurations"]
        if q["Event"].startswith("s3:ObjectCreated")
        and {"Name": "prefix", "Value": "incoming/"} in q.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    ]
    assert len(matching) == 1, "expected one ObjectCreated notification for incoming/"
    return matching[0]


def test_given_an_object_created_in_incoming_then_s3_notifies_a_queue_with_a_dead_letter_queue():
    queue = _get_att_arn(_incoming_notification()["Queue"])
    queues = _of_type("AWS::SQS::Queue")

    assert queue in queues
    redrive = queues[queue].get("RedrivePolicy")
    assert redrive, f"{queue} has no RedrivePolicy"
    dead_letter = _get_att_arn(redrive["deadLetterTargetArn"])
    assert dead_letter in queues
    assert dead_letter != queue
    assert int(redrive["maxReceiveCount"]) >= 1
    # A message keeps its first enqueue time in the DLQ: a shorter retention there would drop it early.
    assert int(queues[dead_letter]["MessageRetentionPeriod"]) >= int(queues[queue]["MessageRetentionPeriod"])


def test_given_the_notification_queue_then_its_policy_lets_s3_send_and_exists_before_the_bucket():
    queue = _get_att_arn(_incoming_notification()["Queue"])
    policies = {
        name: props for name, props in _of_type("AWS::SQS::QueuePolicy").items() if {"Ref": queue} in props["Queues"]
    }
    allows_s3 = {
        name
        for name, props in policies.items()
        for s in props["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
        and s.get("Principal") == {"Service": "s3.amazonaws.com"}
        and "sqs:SendMessage" in _as_list(s["Action"])
    }

    assert allows_s3, "no queue policy lets s3.amazonaws.com send to the queue"
    # S3 checks the destination when the notification is configured: the policy must exist first.
    assert allows_s3 & set(_as_list(RESOURCES[BUCKET].get("DependsOn", [])))


# ---------------------------------------------------------------- API, functions, logs and permissions


def test_given_the_api_then_every_body_is_binary():
    # Any body API Gateway treats as text loses its bytes that are not UTF-8, and a signed body its signature.
    apis = _of_type("AWS::Serverless::Api")

    assert apis["DotiApi"].get("BinaryMediaTypes") == ["*~1*"]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_it_has_its_own_powertools_service_name(logical_id: str):
    names = {name: spec.environment.get("POWERTOOLS_SERVICE_NAME") for name, spec in FUNCTIONS.items()}

    assert names[logical_id]
    assert list(names.values()).count(names[logical_id]) == 1


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_the_opencv_pixel_limit_is_set_exactly_when_it_has_the_imaging_layer(logical_id: str):
    spec = FUNCTIONS[logical_id]

    assert (OPENCV_PIXEL_LIMIT in spec.environment) == (IMAGING_LAYER in spec.layers)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_it_has_the_imaging_layer_exactly_when_its_code_imports_cv2(logical_id: str):
    spec = FUNCTIONS[logical_id]

    imported = package_size.imported_top_level(spec, package_size.source_roots(spec, LAYERS))

    assert ("cv2" in imported) == (IMAGING_LAYER in spec.layers)


VIDEO_LAYER = "VideoLayer"
CLIP_FUNCTION = "ClipFunction"


def _statements(logical_id: str) -> list[dict[str, Any]]:
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    return [s for p in policies if isinstance(p, dict) and "Statement" in p for s in _as_list(p["Statement"])]


def _invokes(logical_id: str) -> list[Any]:
    """What a function's policies let it invoke."""
    return [
        resource
        for s in _statements(logical_id)
        if s["Effect"] == "Allow" and "lambda:InvokeFunction" in _as_list(s["Action"])
        for resource in _as_list(s["Resource"])
    ]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_it_has_the_video_layer_exactly_when_its_code_imports_pyav(logical_id: str):
    spec = FUNCTIONS[logical_id]

    imported = package_size.imported_top_level(spec, package_size.source_roots(spec, LAYERS))

    assert ("av" in imported) == (VIDEO_LAYER in spec.layers)
    assert not (VIDEO_LAYER in spec.layers and IMAGING_LAYER in spec.layers), "PyAV and OpenCV pass 250 MB together"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_whose_code_masks_clips_then_it_names_the_clip_function_and_may_invoke_it_alone(
    logical_id: str,
):
    # Given a function, and whether its code reaches the clip encoder (doti.runtime.clip_encoder)
    spec = FUNCTIONS[logical_id]
    source = spec.module_path.read_text(encoding="utf-8")
    masks_clips = "clip_encoder()" in source

    # Then it is told the clip function's name exactly when it does, and may invoke that function and no other
    assert ("CLIP_FUNCTION_NAME" in spec.environment) == masks_clips
    if masks_clips:
        assert spec.environment["CLIP_FUNCTION_NAME"] == {"Ref": CLIP_FUNCTION}
        assert _invokes(logical_id) == [{"Fn::GetAtt": [CLIP_FUNCTION, "Arn"]}]
    else:
        assert _invokes(logical_id) == []


def test_given_the_callers_of_the_clip_function_then_they_are_the_processor_and_remask():
    callers = sorted(name for name, spec in FUNCTIONS.items() if "CLIP_FUNCTION_NAME" in spec.environment)

    assert callers == ["ProcessorFunction", "RemaskFunction"]
    # And the clip function answers within the time the processor keeps for a record (its own decode of the longest
    # clip, about ten seconds, besides)
    reserve_s = processor_app.RECORD_TIME_RESERVE_MS / 1000
    assert FUNCTIONS[CLIP_FUNCTION].timeout + 10 <= reserve_s <= FUNCTIONS["ProcessorFunction"].timeout


def test_given_the_layers_then_each_is_built_for_the_architecture_of_the_functions_that_use_it():
    mismatched = {
        (target.logical_id, name)
        for target in package_size.targets(TEMPLATE)
        for name in target.spec.layers
        if LAYERS[name].build_architecture != target.platform.architecture
    }

    assert mismatched == set()


MAKEFILE_LAYERS = {name: layer for name, layer in LAYERS.items() if layer.build_method == "makefile"}


def _make_dry_run(layer: Any, logical_id: str) -> list[str]:
    """The commands sam build's `make build-<layer>` would run (make -n), one per line."""
    make = shutil.which("make")
    assert make, "make is needed to build the layer"
    dry_run = subprocess.run(
        [make, "-n", "--no-print-directory", "-C", str(layer.content_uri), f"build-{logical_id}", "ARTIFACTS_DIR=out"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dry_run.stdout.splitlines()


@pytest.mark.parametrize("logical_id", MAKEFILE_LAYERS)
def test_given_a_makefile_layer_when_sam_build_runs_it_then_pip_targets_the_layers_platform(logical_id: str):
    layer = MAKEFILE_LAYERS[logical_id]
    versions = {t.platform.python_version for t in package_size.targets(TEMPLATE) if logical_id in t.spec.layers}
    # sam build sets only ARTIFACTS_DIR: without platform arguments pip would install the build host's wheels.
    expected = [shlex.join(package_size.Platform(layer.build_architecture, v).pip_args()) for v in sorted(versions)]
    pip_installs = [line for line in _make_dry_run(layer, logical_id) if " install " in line]
    assert pip_installs
    without_platform = {
        line: [a for a in expected if a not in line] for line in pip_installs if not all(a in line for a in expected)
    }
    assert without_platform == {}


@pytest.mark.parametrize("logical_id", sorted(MAKEFILE_LAYERS))
def test_given_a_makefile_layer_when_sam_build_runs_it_then_it_ships_bytecode_for_lambdas_read_only_opt(
    logical_id: str,
):
    # pip writes no bytecode of the build host's Python, the leftovers are removed, then the runtime's Python
    # compiles everything with hashes it never checks (nothing in /opt changes)
    lines = _make_dry_run(MAKEFILE_LAYERS[logical_id], logical_id)
    assert all("--no-compile" in line for line in lines if " install " in line)
    removal = next(i for i, line in enumerate(lines) if "__pycache__" in line and "rm -rf" in line)
    (compile_at,) = [i for i, line in enumerate(lines) if "-m compileall" in line]
    assert compile_at > removal
    assert lines[compile_at].startswith("python3.12 ")
    assert "--invalidation-mode unchecked-hash" in lines[compile_at]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_then_a_log_group_keeps_its_logs_for_a_set_time(logical_id: str):
    groups = [
        props
        for props in _of_type("AWS::Logs::LogGroup").values()
        if props.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    ]

    assert len(groups) == 1
    assert groups[0].get("RetentionInDays")


def _too_broad(statement: dict[str, Any]) -> list[str]:
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    resources = _as_list(statement.get("Resource", []))
    found = [a for a in actions if a in {"*", "s3:*", "dynamodb:*"}]
    if any(a.startswith("s3:") for a in actions) and "*" in resources:
        found.append("s3 on Resource '*'")
    return found


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_given_a_function_policy_then_it_grants_no_wildcard_s3_or_dynamodb_access(logical_id: str):
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    statements = [s for p in policies if isinstance(p, dict) and "Statement" in p for s in _as_list(p["Statement"])]

    assert [problem for s in statements for problem in _too_broad(s)] == []
    assert [p for p in policies if isinstance(p, str)] == [], "managed policies are broader than a policy template"


def test_given_the_functions_policy_templates_then_each_names_a_resource_of_the_right_type():
    expected_types = {"TableName": "AWS::DynamoDB::Table", "KeyId": "AWS::KMS::Key", "BucketName": "AWS::S3::Bucket"}
    arguments = [
        (logical_id, argument, _ref(value))
        for logical_id in FUNCTIONS
        for policy in RESOURCES[logical_id]["Properties"].get("Policies", [])
        if isinstance(policy, dict) and "Statement" not in policy and "Ref" not in policy  # Ref: a managed policy
        for template_arguments in policy.values()
        for argument, value in template_arguments.items()
    ]

    wrong = [
        (logical_id, argument, target)
        for logical_id, argument, target in arguments
        if target not in RESOURCES
        or (argument in expected_types and RESOURCES[target]["Type"] != expected_types[argument])
    ]

    assert arguments
    assert wrong == []


# ---------------------------------------------------------------- the public base URL of links (issue 10)

PUBLIC_URL_PARAMETER = RESOURCES["PublicBaseUrlParameter"]["Properties"]


def _ssm_statements(logical_id: str) -> list[dict[str, Any]]:
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    statements = [s for p in policies if isinstance(p, dict) and "Statement" in p for s in _as_list(p["Statement"])]
    return [s for s in statements if any(a.startswith("ssm:") for a in _as_list(s["Action"]))]


def test_given_the_public_base_url_parameter_then_functions_name_it_and_only_the_viewer_and_admin_read_it():
    # Given the parameter's name, spelled out (a !Ref to it would make the functions depend on their own API)
    name = PUBLIC_URL_PARAMETER["Name"]
    assert name == {"Fn::Sub": "/doti/${AWS::StackName}/public-base-url"}

    # Then every function's environment names it, and only the viewer (links, notice pages) and the admin function
    # (the sites' notice_url) may read it, that one parameter alone
    assert GLOBAL_ENV["PUBLIC_BASE_URL_PARAMETER"] == name
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" + name["Fn::Sub"]
    readers = {logical_id: _ssm_statements(logical_id) for logical_id in FUNCTIONS if _ssm_statements(logical_id)}
    reader = [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": {"Fn::Sub": arn}}]
    assert readers == {"ViewerFunction": reader, "AdminFunction": reader}


def test_given_no_public_base_url_then_links_are_on_the_apis_own_url_and_a_given_one_wins():
    assert TEMPLATE["Conditions"]["HasPublicBaseUrl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]}
    assert TEMPLATE["Parameters"]["PublicBaseUrl"]["Default"] == ""
    assert PUBLIC_URL_PARAMETER["Value"] == {
        "Fn::If": ["HasPublicBaseUrl", {"Ref": "PublicBaseUrl"}, TEMPLATE["Outputs"]["ApiUrl"]["Value"]]
    }
    assert TEMPLATE["Outputs"]["PublicBaseUrl"]["Value"] == {"Fn::GetAtt": ["PublicBaseUrlParameter", "Value"]}


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("https://view.example.com", True),
        ("https://view.example.com:8443/doti", True),
        ("https://abc123.execute-api.ap-northeast-1.amazonaws.com/dev", True),
        ("https://view.example.com/", False),
        ("https://view.example.com/doti/", False),
        ("https://view.example.com//doti", False),
        ("http://view.example.com", False),
        ("javascript://view.example.com", False),
        ("https://someone@view.example.com", False),
        ("https://view.example.com?x=1", False),
        ("https://view.example.com#x", False),
        ("view.example.com", False),
    ],
)
def test_given_a_public_base_url_then_the_template_and_the_code_accept_the_same_https_urls(value: str, allowed: bool):
    pattern = TEMPLATE["Parameters"]["PublicBaseUrl"]["AllowedPattern"]

    # CloudFormation refuses a value at deploy time that the viewer would refuse at run time, and the other way round
    assert bool(re.fullmatch(pattern, value)) is allowed
    if allowed:
        assert check_base_url(value) == value
    else:
        with pytest.raises(SettingsError):
            check_base_url(value)


def test_given_fn_if_then_the_local_resolver_follows_the_condition_and_never_reads_the_other_branch():
    value = PUBLIC_URL_PARAMETER["Value"]

    def resolver(public_base_url: str) -> IntrinsicResolver:
        parameters = {"PublicBaseUrl": public_base_url, "Stage": "local", "AWS::Region": "us-east-1"}
        return IntrinsicResolver(parameters, {}, lambda *_: "", TEMPLATE["Conditions"])

    # A given base URL is taken as it is; without one, the branch names the API, which exists only in AWS
    assert resolver("http://127.0.0.1:8000").resolve(value) == "http://127.0.0.1:8000"
    with pytest.raises(KeyError, match="DotiApi"):
        resolver("").resolve(value)


# ---------------------------------------------------------------- provisioned in moto, as stored


def test_given_the_template_in_moto_then_the_stored_lifecycle_rules_are_the_templates(aws: Provisioned):
    s3 = boto3.client("s3")

    stored = s3.get_bucket_lifecycle_configuration(Bucket=aws.refs[BUCKET])["Rules"]

    assert sorted(rule["ID"] for rule in stored) == sorted(rule["Id"] for rule in LIFECYCLE_RULES)
    by_id = {rule["ID"]: rule for rule in stored}
    for days in RETENTION_CLASSES:
        rule = by_id[f"retention-{retention_class(days)}"]
        assert rule["Filter"] == {"Tag": {"Key": RETENTION_TAG, "Value": retention_class(days)}}
        assert rule["Expiration"] == {"Days": days}


def test_given_the_template_in_moto_then_every_table_has_ttl_as_the_template_says(aws: Provisioned):
    dynamodb = boto3.client("dynamodb")

    stored = {
        logical: dynamodb.describe_time_to_live(TableName=aws.refs[logical])["TimeToLiveDescription"]
        for logical in TABLES
    }

    expected = {
        logical: (
            {"TimeToLiveStatus": "ENABLED", "AttributeName": props["TimeToLiveSpecification"]["AttributeName"]}
            if props.get("TimeToLiveSpecification", {}).get("Enabled")
            else {"TimeToLiveStatus": "DISABLED"}
        )
        for logical, props in TABLES.items()
    }
    assert stored == expected


def test_given_the_template_in_moto_then_the_public_base_url_parameter_holds_the_given_url(
    aws: Provisioned, public_base_url: str
):
    ssm = boto3.client("ssm")

    stored = ssm.get_parameter(Name=Settings.from_env(os.environ).public_base_url_parameter)["Parameter"]

    assert stored["Value"] == public_base_url
    assert stored["Name"] == aws.refs["PublicBaseUrlParameter"] == "/doti/doti-local/public-base-url"


def test_given_the_template_in_moto_then_public_access_is_blocked_as_stored(aws: Provisioned):
    s3 = boto3.client("s3")

    stored = s3.get_public_access_block(Bucket=aws.refs[BUCKET])["PublicAccessBlockConfiguration"]

    assert stored == BUCKET_PROPS["PublicAccessBlockConfiguration"]


# ---------------------------------------------------------------- the package-size check's import reading


def test_given_code_with_type_only_and_relative_imports_when_read_then_only_runtime_imports_count(tmp_path: Path):
    code = tmp_path / "fn"
    (code / "helpers").mkdir(parents=True)
    (code / "app.py").write_text(
        "from typing import TYPE_CHECKING\nfrom helpers import draw\nif TYPE_CHECKING:\n    import cv2\n"
    )
    (code / "helpers" / "__init__.py").write_text("")
    (code / "helpers" / "draw.py").write_text("from . import shapes\nimport numpy as np\n")
    (code / "helpers" / "shapes.py").write_text("import json\n")
    spec = FunctionSpec("Fn", code, "app.lambda_handler", 3, 128, ())

    imported = package_size.imported_top_level(spec, [])

    assert imported == {"typing", "helpers", "numpy", "json", "app"}
