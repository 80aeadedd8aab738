"""What an operator needs on the day something goes wrong (issue 14), read from template.yaml and its SAM translation.

Alarms on every function, queue, job and the API, notifying one topic; jobs that cannot fail silently; the edge
(access logs, WAF, throttles per route family, bounded queue consumers, no extra stage); least privilege checked by
checkov with a reason for every skip; safe deploys; deletion protection; a bucket name a redeploy does not collide
with; samconfig.toml's environments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from doti.contracts.terms import DIRECT_UPLOAD_MAX_BYTES
from doti.json_body import MAX_JSON_BODY_BYTES
from infra.gateway import load_handler_module
from infra.provision import Provisioned
from infra.template import ROOT, TEMPLATE_PATH, api_routes, functions, load_template, rate_seconds, schedules
from tests.infra.conftest import tools_bin
from tests.support import LambdaContext, sample_event

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
FUNCTIONS = functions(TEMPLATE)
ROUTES = api_routes(TEMPLATE)
API_FUNCTIONS = sorted({route.function for route in ROUTES})
SCHEDULED = sorted({schedule.function for schedule in schedules(TEMPLATE)})


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in RESOURCES.items() if res["Type"] == kind}


ALARMS = {name: res["Properties"] for name, res in _of_type("AWS::CloudWatch::Alarm").items()}
QUEUES = _of_type("AWS::SQS::Queue")
SQS_SOURCES = {
    (name, event_name): event["Properties"]
    for name, res in _of_type("AWS::Serverless::Function").items()
    for event_name, event in res["Properties"].get("Events", {}).items()
    if event["Type"] == "SQS"
}


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def _alarms_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [a for a in ALARMS.values() if a["Namespace"] == namespace and a["MetricName"] == metric]


def _dead_letter_queues() -> set[str]:
    """Queues that receive what failed: redrive targets, function dead-letter queues, schedule dead-letter configs."""
    found = {
        props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for props in (q.get("Properties", {}) for q in QUEUES.values())
        if "RedrivePolicy" in props
    }
    for res in _of_type("AWS::Serverless::Function").values():
        props = res["Properties"]
        if "DeadLetterQueue" in props:
            found.add(props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0])
    return found


# ---------------------------------------------------------------- 1. alarms and the dashboard


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_given_a_function_then_its_errors_and_its_throttles_are_alarmed(logical_id: str):
    for metric in ("Errors", "Throttles"):
        alarms = [
            a for a in _alarms_on("AWS/Lambda", metric) if _dimensions(a) == {"FunctionName": {"Ref": logical_id}}
        ]
        assert len(alarms) == 1, f"{logical_id}: {metric}"
        assert alarms[0]["Threshold"] == 1
        assert alarms[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_given_every_dead_letter_queue_then_one_message_in_it_is_an_alarm():
    dead_letter = _dead_letter_queues()
    assert {
        "IncomingDeadLetterQueue",
        "RemaskDeadLetterQueue",
        "ExportDeadLetterQueue",
        "JobsDeadLetterQueue",
    } <= dead_letter
    for queue in dead_letter:
        alarms = [
            a
            for a in _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
            if _dimensions(a) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
        ]
        assert len(alarms) == 1, queue
        assert (alarms[0]["Threshold"], alarms[0]["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_given_every_work_queue_then_the_age_of_its_oldest_message_is_alarmed_within_its_retention():
    work_queues = set(QUEUES) - _dead_letter_queues()
    assert work_queues == {"IncomingQueue", "RemaskQueue", "ExportQueue", "EventsQueue", "DeliveriesQueue"}
    for queue in work_queues:
        alarms = [
            a
            for a in _alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage")
            if _dimensions(a) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
        ]
        assert len(alarms) == 1, queue
        assert alarms[0]["Threshold"] < QUEUES[queue]["Properties"]["MessageRetentionPeriod"]


@pytest.mark.parametrize("logical_id", SCHEDULED)
def test_given_a_scheduled_job_then_a_period_without_a_successful_run_is_an_alarm(logical_id: str):
    service = FUNCTIONS[logical_id].environment["POWERTOOLS_SERVICE_NAME"]
    alarms = [a for a in _alarms_on("doti", "JobSucceeded") if _dimensions(a) == {"service": service}]
    assert len(alarms) == 1, logical_id
    alarm = alarms[0]
    period = max(s.seconds for s in schedules(TEMPLATE) if s.function == logical_id)
    # A period holds at least one scheduled run (two, for the jitter of EventBridge), and silence is a failure.
    assert period < alarm["Period"] * alarm["EvaluationPeriods"] <= 2 * period
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
        1,
        "LessThanThreshold",
        "breaching",
    )


def test_given_the_api_then_its_5xx_rate_and_its_latency_are_alarmed_on_its_own_name_and_stage():
    api_name = RESOURCES["DotiApi"]["Properties"]["Name"]
    for metric in ("5XXError", "Latency"):
        (alarm,) = _alarms_on("AWS/ApiGateway", metric)
        assert _dimensions(alarm) == {"ApiName": api_name, "Stage": {"Ref": "Stage"}}
    (errors,) = _alarms_on("AWS/ApiGateway", "5XXError")
    assert errors["Statistic"] == "Average"
    assert 0 < errors["Threshold"] < 0.05


def test_given_every_alarm_then_cloudwatch_accepts_its_window():
    # PutMetricAlarm: a period of 10, 20, 30 or a multiple of 60 s; period x evaluations at most 7 days, and at most
    # a day for periods under an hour; at most as many breaching points as evaluations
    for name, alarm in ALARMS.items():
        period, evaluations = alarm["Period"], alarm["EvaluationPeriods"]
        assert period in (10, 20, 30) or period % 60 == 0, name
        assert period * evaluations <= (7 * 86400 if period >= 3600 else 86400), name
        assert 1 <= alarm.get("DatapointsToAlarm", evaluations) <= evaluations, name
        assert ("Statistic" in alarm) != ("ExtendedStatistic" in alarm), name


def test_given_every_alarm_then_it_notifies_the_alarm_topic_whose_subscription_is_a_parameter():
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], name
    (subscription,) = _of_type("AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def _dashboard() -> dict[str, Any]:
    (dashboard,) = _of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    # What CloudFormation substitutes (${X} and ${X.Attr}) becomes a plain name; the rest must be JSON already.
    return json.loads(re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: m.group(1).replace("::", "-"), body))


def test_given_the_dashboard_then_it_shows_ingest_refusals_viewer_latency_jobs_and_every_queue():
    widgets = {w["properties"]["title"]: json.dumps(w["properties"]["metrics"]) for w in _dashboard()["widgets"]}
    shown = "\n".join(widgets.values())
    assert "FramesIngested" in shown
    assert "SEARCH('{doti,service} Rejected'" in shown  # doti.http counts every refusal as Rejected_<code>
    assert '"Duration", "FunctionName", "ViewerFunction"' in shown
    assert '"Duration", "FunctionName", "ClipFunction"' in shown  # masked clips wait on it: the processor's budget
    assert '"ClipsCorrupt", "service", "clip"' in shown
    for service in ("retention", "suspension", "termination"):
        assert f'"JobSucceeded", "service", "{service}"' in shown
    for queue in QUEUES:
        assert f'"ApproximateNumberOfMessagesVisible", "QueueName", "{queue}.QueueName"' in shown, queue


def test_given_the_refusal_search_then_it_matches_the_metric_the_error_responses_emit():
    source = (ROOT / "layers/common/doti/http.py").read_text(encoding="utf-8")
    assert 'name=f"Rejected_{code}"' in source


# ---------------------------------------------------------------- 2. jobs never fail silently


@pytest.mark.parametrize("logical_id", SCHEDULED)
def test_given_a_scheduled_job_then_failed_runs_are_retried_and_then_kept_in_the_jobs_dead_letter_queue(
    logical_id: str,
):
    props = RESOURCES[logical_id]["Properties"]
    assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}
    retries = props["EventInvokeConfig"]
    assert 1 <= retries["MaximumRetryAttempts"] <= 2
    for event in props["Events"].values():
        assert event["Type"] == "Schedule"
        period = rate_seconds(event["Properties"]["Schedule"])
        assert retries["MaximumEventAgeInSeconds"] <= period  # a retry never overlaps the next scheduled run
        assert event["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}
        assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_given_the_jobs_dead_letter_queue_then_eventbridge_of_this_account_may_send_to_it():
    (policy,) = (
        p["Properties"]
        for p in _of_type("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": "JobsDeadLetterQueue"}]
    )
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


@pytest.mark.isolated
@pytest.mark.parametrize("logical_id", SCHEDULED)
def test_given_a_run_with_nothing_failed_then_the_job_emits_the_success_its_alarm_counts(
    logical_id: str, aws: Provisioned, capsys: pytest.CaptureFixture[str]
):
    # Given the job's handler (in Lambda its service dimension is its POWERTOOLS_SERVICE_NAME, which its alarm names:
    # test_given_a_scheduled_job_then_a_period_without_a_successful_run_is_an_alarm)
    module = load_handler_module(FUNCTIONS[logical_id])
    folder = FUNCTIONS[logical_id].code_uri.name

    # When EventBridge fires it with nothing to do
    module.lambda_handler(sample_event(f"{folder}/scheduled.json"), LambdaContext())

    # Then it publishes JobSucceeded = 1 with the service dimension, in CloudWatch's embedded metric format
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    succeeded = [m for m in emitted if "JobSucceeded" in m]
    assert len(succeeded) == 1, emitted
    assert succeeded[0]["JobSucceeded"] in (1, 1.0, [1.0], [1])
    (directive,) = succeeded[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "doti"
    assert ["service"] in directive["Dimensions"]


def test_given_an_outcome_then_success_is_one_only_when_nothing_failed():
    from aws_lambda_powertools import Metrics

    from doti.jobs.outcome import JOB_SUCCEEDED, record_outcome

    for failed, expected in ((0, 1), (1, 0), (7, 0)):
        metrics = Metrics(namespace="doti", service="test")
        record_outcome(metrics, failed=failed)
        serialized = metrics.serialize_metric_set()
        metrics.clear_metrics()
        assert serialized[JOB_SUCCEEDED] in (expected, float(expected), [float(expected)]), failed


# ---------------------------------------------------------------- 3. the edge


ACCESS_LOG_FIELDS = {"requestId", "ip", "route", "status", "latencyMs"}


def test_given_the_access_log_format_then_it_is_one_json_object_with_the_fields_and_no_secret():
    setting = RESOURCES["DotiApi"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fmt = setting["Format"]
    record = json.loads(fmt)  # API Gateway substitutes inside the strings: the format itself is JSON
    assert set(record) >= ACCESS_LOG_FIELDS
    assert record["route"] == "$context.resourcePath"  # the template, never the path: paths hold link tokens
    # Nothing that can carry a token or a signature: the path, headers, the query, the body, an authorizer.
    for leak in (
        "$context.path",
        "$input",
        "$method.request",
        "$context.authorizer",
        "apiKey",
        "header",
        "querystring",
    ):
        assert leak not in fmt, leak


def _waf_rules() -> dict[str, dict[str, Any]]:
    (acl,) = _of_type("AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def test_given_the_waf_then_it_guards_the_api_stage_with_managed_rule_groups():
    (association,) = _of_type("AWS::WAFv2::WebACLAssociation").values()
    assert "/restapis/${DotiApi}/stages/${DotiApi.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in _waf_rules().values()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= managed
    priorities = [rule["Priority"] for rule in _waf_rules().values()]
    assert len(priorities) == len(set(priorities))


def test_given_the_login_rate_rule_then_it_counts_per_ip_on_the_login_route():
    rule = _waf_rules()["login-rate-per-ip"]["Statement"]["RateBasedStatement"]
    assert rule["AggregateKeyType"] == "IP"
    assert rule["Limit"] == {"Ref": "LoginRateLimitPer5Min"}
    path = rule["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"]
    assert any(route.path == path and route.method == "POST" for route in ROUTES)


def test_given_the_device_rate_rule_then_it_counts_per_device_header_the_devices_sign_with():
    from doti.auth import device as device_auth

    rule = _waf_rules()["device-rate"]["Statement"]["RateBasedStatement"]
    (key,) = rule["CustomKeys"]
    header = key["Header"]["Name"]
    assert header == "x-doti-device"
    assert "X-Doti-Device" in Path(device_auth.__file__).read_text(encoding="utf-8")
    scope = rule["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"]
    device_routes = [route for route in ROUTES if scope in route.path]
    assert device_routes
    assert all(route.function == "IngestFunction" for route in device_routes)


def _size_rule_regex(name: str) -> re.Pattern[str]:
    statements = _waf_rules()[name]["Statement"]["AndStatement"]["Statements"]
    (regex,) = [s["RegexMatchStatement"] for s in statements if "RegexMatchStatement" in s]
    assert regex["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    return re.compile(regex["RegexString"])


@pytest.mark.parametrize(
    ("rule", "limit"), [("frame-body-over-4mib", DIRECT_UPLOAD_MAX_BYTES), ("json-body-over-1mib", MAX_JSON_BODY_BYTES)]
)
def test_given_a_body_size_rule_then_it_blocks_exactly_the_lengths_the_function_refuses(rule: str, limit: int):
    pattern = _size_rule_regex(rule)
    samples = {0, 1, 9, 10, 99_999, limit // 2, 10**7, 10**8, 10**12}
    samples |= {limit + delta for delta in range(-1200, 1200)}
    samples |= {int(str(limit)[:k] + "9" * (len(str(limit)) - k)) for k in range(len(str(limit)))}
    samples |= {n * 10**e for n in range(1, 10) for e in range(8)}
    for length in sorted(samples):
        assert bool(pattern.fullmatch(str(length))) == (length > limit), length
        assert bool(pattern.fullmatch("00" + str(length))) == (length > limit), length  # leading zeros
    for junk in ("", "abc", "-5000000", "4194305 ", "1e9"):
        assert not pattern.fullmatch(junk)


def test_given_the_size_rules_then_they_answer_413_with_the_error_shape_of_spec_10():
    (acl,) = _of_type("AWS::WAFv2::WebACL").values()
    bodies = acl["Properties"]["CustomResponseBodies"]
    for rule, status, code in (
        ("frame-body-over-4mib", 413, "payload_too_large"),
        ("json-body-over-1mib", 413, "payload_too_large"),
        ("login-rate-per-ip", 429, "rate_limited"),
        ("device-rate", 429, "rate_limited"),
    ):
        response = _waf_rules()[rule]["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == status
        body = json.loads(bodies[response["CustomResponseBodyKey"]]["Content"])
        assert body["error"]["code"] == code
        assert set(body["error"]) == {"code", "message", "details"}


def test_given_waf_logs_then_they_keep_only_blocks_and_counts_with_tokens_and_credentials_redacted():
    (logging,) = _of_type("AWS::WAFv2::LoggingConfiguration").values()
    redacted = logging["Properties"]["RedactedFields"]
    assert {"UriPath": {}} in redacted
    assert {"QueryString": {}} in redacted
    headers = {field["SingleHeader"]["Name"] for field in redacted if "SingleHeader" in field}
    assert {"authorization", "cookie", "x-doti-signature"} <= headers
    assert logging["Properties"]["LoggingFilter"]["DefaultBehavior"] == "DROP"


FAMILIES = {
    "Device": lambda r: r.path.startswith("/v1/device/") and r.method == "POST",
    "Login": lambda r: r.path == "/v1/auth/login",
    # no account: share and invitation links, public notice pages and request status pages (issue 15)
    "PublicLink": lambda r: r.path.startswith(("/s/", "/i/", "/p/", "/r/")),
    "Admin": lambda r: r.path.startswith("/v1/admin/"),
}


def _family(route: Any) -> str:
    matched = [name for name, belongs in FAMILIES.items() if belongs(route)]
    assert len(matched) <= 1, route
    return matched[0] if matched else "Customer"


def _throttle_of(family: str) -> tuple[Any, Any]:
    if family == "Device":
        return {"Ref": "DeviceThrottleRate"}, {"Ref": "DeviceThrottleBurst"}
    return (
        {"Fn::FindInMap": ["Throttles", family, "Rate"]},
        {"Fn::FindInMap": ["Throttles", family, "Burst"]},
    )


def test_given_the_routes_then_each_family_has_its_own_throttle_and_every_listed_route_exists():
    settings = RESOURCES["DotiApi"]["Properties"]["MethodSettings"]
    default, *listed = settings
    assert (default["ResourcePath"], default["HttpMethod"]) == ("/*", "*")
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == _throttle_of("Customer")
    by_route = {(s["HttpMethod"], s["ResourcePath"]): s for s in listed}
    assert len(by_route) == len(listed)
    expected = {}
    for route in ROUTES:
        family = _family(route)
        if family != "Customer":
            expected[(route.method, "/" + route.path.replace("/", "~1"))] = _throttle_of(family)
    assert set(by_route) == set(expected)
    for key, setting in by_route.items():
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == expected[key], key
    mapping = TEMPLATE["Mappings"]["Throttles"]
    assert mapping["Login"]["Rate"] < mapping["Customer"]["Rate"]
    assert all(limits["Burst"] >= limits["Rate"] for limits in mapping.values())


@pytest.mark.parametrize("source", sorted(SQS_SOURCES), ids=lambda s: f"{s[0]}.{s[1]}")
def test_given_an_sqs_event_source_then_its_concurrency_is_capped(source: tuple[str, str]):
    cap = SQS_SOURCES[source]["ScalingConfig"]["MaximumConcurrency"]
    assert 2 <= cap <= 10  # Lambda's floor is 2; bulk work stays well under the account's pool


def test_given_the_translation_then_the_api_has_exactly_its_stage_and_no_extra_stage(translated: dict[str, Any]):
    stages = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert [s["Properties"]["StageName"] for s in stages] == [{"Ref": "Stage"}]
    for resource in translated["Resources"].values():
        if resource["Type"] == "AWS::ApiGateway::Deployment":
            assert "StageName" not in resource["Properties"]  # SAM's deployment stage would be a second, bare stage


# ---------------------------------------------------------------- 5. least privilege, checked


def _checkov(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tools_bin() / "checkov"),
            "-f",
            str(path),
            "--config-file",
            str(ROOT / ".checkov.yaml"),
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_CREATE_GRAPH": "TRUE"},
    )


@pytest.mark.slow
def test_given_the_template_when_checkov_runs_then_no_check_fails():
    result = _checkov(TEMPLATE_PATH)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


@pytest.mark.slow
def test_given_the_sam_translation_when_checkov_runs_then_no_check_fails(translated: dict[str, Any], tmp_path: Path):
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated), encoding="utf-8")
    result = _checkov(path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_given_checkovs_config_then_every_skipped_check_has_its_reason_just_above_it():
    lines = (ROOT / ".checkov.yaml").read_text(encoding="utf-8").splitlines()
    config = yaml.safe_load("\n".join(lines))
    assert config["skip-check"], "nothing skipped: drop the section"
    for check in config["skip-check"]:
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        reason = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 60, f"{check} has no reason above it"


def test_given_a_resource_that_skips_a_check_then_the_skip_says_why():
    skipped = {
        name: res["Metadata"]["checkov"]["skip"]
        for name, res in RESOURCES.items()
        if "checkov" in (res.get("Metadata") or {})
    }
    assert {"FramesBucket", "DotiApi"} <= set(skipped)
    for name, skips in skipped.items():
        for skip in skips:
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
            assert len(skip.get("comment", "")) > 40, f"{name} skips {skip['id']} without a reason"
    assert any("irrecoverable" in s["comment"] for s in skipped["FramesBucket"])
    assert any("tenant" in s["comment"] for s in skipped["DotiApi"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(function: str) -> list[dict[str, Any]]:
    found = []
    for policy in RESOURCES[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            found += policy["Statement"]
    return found


def test_given_any_policy_then_ses_is_granted_only_as_the_mail_sender():
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert "identity/*" not in text
    statements = RESOURCES["SendMailPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (statement,) = statements
    assert statement["Action"] == "ses:SendEmail"
    assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == {"Ref": "MailSender"}
    for function in FUNCTIONS:
        assert not any("ses:" in json.dumps(s.get("Action")) for s in _statements(function)), function


def test_given_the_functions_that_send_mail_then_they_and_only_they_have_the_mail_policy():
    senders = {
        name
        for name, spec in FUNCTIONS.items()
        if any("mailer(" in path.read_text(encoding="utf-8") for path in spec.code_uri.rglob("*.py"))
    }
    attached = {name for name in FUNCTIONS if {"Ref": "SendMailPolicy"} in RESOURCES[name]["Properties"]["Policies"]}
    assert senders
    assert senders <= attached


def test_given_any_list_bucket_grant_then_it_is_limited_to_prefixes():
    for function in FUNCTIONS:
        for statement in _statements(function):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("s3:ListBucket") for a in actions):
                prefixes = _as_list(statement["Condition"]["StringLike"]["s3:prefix"])
                assert prefixes, function
                assert all(p.endswith("/*") and p != "/*" for p in prefixes), function


def test_given_the_tables_then_deletion_protection_follows_a_parameter_that_defaults_on():
    assert PARAMETERS["TableDeletionProtection"]["Default"] == "true"
    assert TEMPLATE["Conditions"]["ProtectTables"] == {"Fn::Equals": [{"Ref": "TableDeletionProtection"}, "true"]}
    for name, table in _of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["ProtectTables", True, False]}, name


def test_given_access_logging_then_it_is_off_by_default_and_on_writes_to_a_logs_bucket_only_s3_logging_may_fill():
    assert PARAMETERS["FramesAccessLogging"]["Default"] == "false"
    assert (
        "cost" in PARAMETERS["FramesAccessLogging"]["Description"]
        or "GB" in PARAMETERS["FramesAccessLogging"]["Description"]
    )
    logging = RESOURCES["FramesBucket"]["Properties"]["LoggingConfiguration"]["Fn::If"]
    assert logging[0] == "HasFramesAccessLogging"
    assert logging[1]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    assert RESOURCES["AccessLogsBucket"]["Condition"] == "HasFramesAccessLogging"
    policy = RESOURCES["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"] == {"Service": "logging.s3.amazonaws.com"}


# ---------------------------------------------------------------- 6. safe deploys


def test_given_globals_then_every_function_publishes_a_version_behind_an_alias():
    assert TEMPLATE["Globals"]["Function"]["AutoPublishAlias"] == "live"


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_given_an_api_function_then_a_deploy_shifts_traffic_gradually_and_its_alarms_roll_it_back(logical_id: str):
    preference = RESOURCES[logical_id]["Properties"]["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert {"Ref": f"{logical_id.removesuffix('Function')}ErrorsAlarm"} in preference["Alarms"]
    assert {"Ref": "ApiServerErrorsAlarm"} in preference["Alarms"]
    for alarm in preference["Alarms"]:
        assert alarm["Ref"] in ALARMS
    assert any(t.startswith(("Canary", "Linear")) for t in PARAMETERS["DeploymentType"]["AllowedValues"])


def test_given_the_bucket_name_then_it_is_new_for_each_stack_and_the_queue_policy_names_the_same_bucket():
    name = RESOURCES["FramesBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    source_arn = RESOURCES["IncomingQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Condition"]
    arn = source_arn["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert arn[0] == "arn:${AWS::Partition}:s3:::" + name[0]
    assert arn[1] == name[1]
    assert "AWS::StackId" in json.dumps(name[1])  # a stack made again after `sam delete` gets another name


def test_given_the_template_in_moto_then_the_bucket_is_named_from_the_stack_and_conditional_resources_follow(
    aws: Provisioned,
):
    bucket = aws.refs["FramesBucket"]
    assert re.fullmatch(r"doti-frames-\d{12}-[a-z0-9-]+-[a-z0-9-]+-[0-9a-f]{8}", bucket), bucket
    assert "AccessLogsBucket" not in aws.refs  # FramesAccessLogging defaults to "false"


SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def _overrides(environment: str) -> dict[str, str]:
    text = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_given_samconfig_then_each_environment_deploys_its_own_stack_with_known_parameters(environment: str):
    deploy = SAMCONFIG[environment]["deploy"]["parameters"]
    assert deploy["stack_name"] == f"doti-{environment}"
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    overrides = _overrides(environment)
    assert set(overrides) <= set(PARAMETERS), set(overrides) - set(PARAMETERS)
    assert overrides["Stage"] == environment
    for name, value in overrides.items():
        allowed = PARAMETERS[name].get("AllowedValues")
        assert allowed is None or value in [str(v) for v in allowed], name
        pattern = PARAMETERS[name].get("AllowedPattern")
        assert pattern is None or re.fullmatch(pattern, value), name


def test_given_samconfig_then_prod_is_protected_and_gradual_and_dev_can_be_torn_down():
    prod, dev = _overrides("prod"), _overrides("dev")
    assert prod["TableDeletionProtection"] == "true"
    assert prod["DeploymentType"].startswith(("Canary", "Linear"))
    assert dev["TableDeletionProtection"] == "false"
    assert dev["DeploymentType"] == "AllAtOnce"
    assert SAMCONFIG["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


@cache
def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("parameter", sorted(PARAMETERS))
def test_given_a_template_parameter_then_the_readme_explains_it(parameter: str):
    assert f"`{parameter}`" in _readme()
