"""Audit entries cannot be changed or deleted by any function role (issue 14 §4): the roles as SAM translates
template.yaml, every statement of every role on the audit table, and the calls the code really makes.

The roles are read from samtranslator's output (what CloudFormation receives): inline policies from the policy
templates and Statements, and managed policies, ours (AuditAppendPolicy …) resolved to their documents. Denies win
over allows, as in IAM. moto does not enforce IAM, so the last test runs the audit, anchor, purge and job tests under
a hook on the service's botocore session and checks that no code path calls what the roles are denied.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.template import ROOT, functions, load_template
from tests.infra.conftest import sam_translate

TEMPLATE = load_template()
FUNCTIONS = functions(TEMPLATE)
# The functions that append to the audit log (doti.oversight.audit.record): staff routes, customer routes, the jobs.
APPENDERS = {
    "ViewerFunction",
    "AdminFunction",
    "SuspensionFunction",
    "TerminationFunction",
    "RetentionFunction",  # the deletions answers to requests from people filmed ask for (doti.subjects.deletion)
    "RemaskFunction",
    "ExporterFunction",
    "WebhooksFunction",  # an endpoint disabled for failing, enabled again by a test event (doti.webhooks.dispatch)
}
READERS = {"AnchorFunction"}
# What an append is (TransactWriteItems of conditional Puts) and what reading a chain and its head is.
APPEND = {"dynamodb:putitem", "dynamodb:conditioncheckitem", "dynamodb:getitem", "dynamodb:query"}
READ = {"dynamodb:getitem", "dynamodb:query"}
FORBIDDEN = {
    "dynamodb:deleteitem",
    "dynamodb:updateitem",
    "dynamodb:batchwriteitem",
    "dynamodb:partiqlinsert",
    "dynamodb:partiqlupdate",
    "dynamodb:partiqldelete",
}
# AWS managed policies SAM attaches; none grants DynamoDB. Any other one fails the test until it is looked at.
AWS_MANAGED_WITHOUT_DYNAMODB = {
    "AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSLambdaSQSQueueExecutionRole",
    "AmazonAPIGatewayPushToCloudWatchLogs",  # API Gateway's access-log role
    "AWSCodeDeployRoleForLambda",  # CodeDeploy's role for gradual deploys
}
# Roles that are not a function's: API Gateway's (access logs) and CodeDeploy's (gradual deploys).
SERVICE_ROLES = {"ApiGatewayCloudWatchRole", "CodeDeployServiceRole"}
# What an effective grant is compared against: every action that matters here, so wildcards can be expanded.
KNOWN_ACTIONS = APPEND | FORBIDDEN | {"dynamodb:scan", "dynamodb:batchgetitem", "dynamodb:deletetable"}


def translate(template: dict[str, Any]) -> dict[str, Any]:
    """The template as SAM translates it (tests/infra/conftest.py: samtranslator in the tools venv)."""
    return sam_translate(template)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _on_audit_table(statement: dict[str, Any]) -> bool:
    """Whether a statement's resources include the audit table: named, or a wildcard that covers it."""
    for resource in _as_list(statement.get("Resource", [])):
        text = json.dumps(resource)
        if "AuditTable" in text or resource == "*" or "table/*" in text:
            return True
    return False


@dataclass
class Access:
    allowed: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    wildcards: list[str] = field(default_factory=list)

    @property
    def effective(self) -> set[str]:
        return self.allowed - self.denied


def _expand(action: str) -> set[str]:
    action = action.lower()
    return {known for known in KNOWN_ACTIONS if fnmatch.fnmatchcase(known, action)} | ({action} - {"*"})


def _statements(role: dict[str, Any], resources: dict[str, Any]) -> list[dict[str, Any]]:
    props = role["Properties"]
    found = [s for p in props.get("Policies", []) for s in _as_list(p["PolicyDocument"]["Statement"])]
    for arn in props.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and set(arn) == {"Ref"}:
            managed = resources[arn["Ref"]]
            assert managed["Type"] == "AWS::IAM::ManagedPolicy", arn
            found += _as_list(managed["Properties"]["PolicyDocument"]["Statement"])
        else:
            name = json.dumps(arn).rstrip('"}').rsplit("/", 1)[-1]
            assert name in AWS_MANAGED_WITHOUT_DYNAMODB, f"an AWS managed policy to review: {arn}"
    return found


def audit_access(translated: dict[str, Any]) -> dict[str, Access]:
    """Each role's actions on the audit table, allowed and denied."""
    resources = translated["Resources"]
    access: dict[str, Access] = {}
    for name, role in resources.items():
        if role["Type"] != "AWS::IAM::Role":
            continue
        mine = access[name] = Access()
        for statement in _statements(role, resources):
            if not _on_audit_table(statement):
                continue
            actions = [str(a) for a in _as_list(statement.get("Action", []))]
            if statement["Effect"] == "Deny":
                mine.denied.update(a for action in actions for a in _expand(action))
            else:
                mine.allowed.update(a for action in actions for a in _expand(action))
                mine.wildcards += [a for a in actions if "*" in a]
    return access


@pytest.fixture(scope="module")
def roles(translated: dict[str, Any]) -> dict[str, Access]:
    return audit_access(translated)


def test_given_the_translated_template_then_every_function_has_a_role_and_the_service_roles_no_audit_access(roles):
    assert set(roles) == {f"{name}Role" for name in FUNCTIONS} | SERVICE_ROLES
    assert {name: sorted(roles[name].allowed) for name in SERVICE_ROLES} == {name: [] for name in SERVICE_ROLES}


def test_given_any_role_then_it_cannot_delete_update_or_batch_write_an_audit_entry_and_denies_it_explicitly(roles):
    problems = {
        name: {
            "effective": sorted(access.effective & FORBIDDEN),
            "not_denied": sorted(FORBIDDEN - access.denied),
            "wildcards": access.wildcards,
        }
        for name, access in roles.items()
        if name not in SERVICE_ROLES  # they have no audit access at all (test above)
    }

    assert {name: p for name, p in problems.items() if any(p.values())} == {}


def test_given_the_roles_then_only_the_appending_functions_may_put_and_each_has_exactly_an_append(roles):
    putting = {name for name, access in roles.items() if "dynamodb:putitem" in access.effective}

    assert putting == {f"{name}Role" for name in APPENDERS}
    assert {name: sorted(roles[f"{name}Role"].effective) for name in APPENDERS} == {
        name: sorted(APPEND) for name in APPENDERS
    }
    assert {name: sorted(roles[f"{name}Role"].effective) for name in READERS} == {
        name: sorted(READ) for name in READERS
    }


def test_given_a_later_broad_grant_on_the_audit_table_then_the_deny_still_closes_delete_and_update():
    # Given a function that someone later gives CRUD on the audit table and dynamodb:* on every table
    broadened = copy.deepcopy(TEMPLATE)
    broadened["Resources"]["IngestFunction"]["Properties"]["Policies"] += [
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "AuditTable"}}},
        {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]},
    ]

    access = audit_access(translate(broadened))["IngestFunctionRole"]

    # Then the check sees the grants (it is not vacuous) and the explicit Deny still closes every forbidden action
    assert access.allowed >= FORBIDDEN
    assert access.wildcards == ["dynamodb:*"]
    assert access.effective & FORBIDDEN == set()


def test_given_the_template_then_audit_access_is_granted_only_through_the_managed_policies():
    # Read without SAM: this holds even where the SAM CLI is not installed
    policies = {name: TEMPLATE["Resources"][name]["Properties"].get("Policies", []) for name in FUNCTIONS}
    refs = {name: {p["Ref"] for p in ps if isinstance(p, dict) and set(p) == {"Ref"}} for name, ps in policies.items()}
    templates_on_audit = {
        name: [p for p in ps if "Ref" not in p and "Statement" not in p and "AuditTable" in json.dumps(p)]
        for name, ps in policies.items()
    }

    assert {name for name, r in refs.items() if "AuditImmutablePolicy" not in r} == set()
    assert {name for name, r in refs.items() if "AuditAppendPolicy" in r} == APPENDERS
    assert {name for name, r in refs.items() if "AuditReadPolicy" in r} == READERS
    assert {ref for r in refs.values() for ref in r} <= {
        name for name, res in TEMPLATE["Resources"].items() if res["Type"] == "AWS::IAM::ManagedPolicy"
    }
    assert {name: p for name, p in templates_on_audit.items() if p} == {}


# ---------------------------------------------------------------- what the code calls (moto does not enforce IAM)

# Files whose tests append as each appending function does (staff routes, customer exports and shares, the jobs),
# tamper, anchor and purge; run under tests/audit_calls.py in a pytest of their own.
WATCHED = [
    "tests/staff/test_audit.py",
    "tests/jobs/test_anchor.py",
    "tests/jobs/test_purge.py",
    "tests/jobs/test_suspension_job.py",
    "tests/jobs/test_remask.py",
    "tests/customer/test_exports.py",
]


def test_given_the_audit_and_job_tests_then_the_code_calls_only_what_the_roles_allow_on_the_audit_table(tmp_path):
    report = tmp_path / "calls.json"
    # Without this process's AUDIT_TABLE: the plugin counts from when the tests' moto sets it, after provisioning
    env = {**{k: v for k, v in os.environ.items() if k != "AUDIT_TABLE"}, "DOTI_AUDIT_CALLS": str(report)}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.audit_calls", "-p", "no:cacheprovider", *WATCHED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:]
    calls = json.loads(report.read_text(encoding="utf-8"))
    # IAM sees a transaction's items as the actions they are: Put is PutItem, ConditionCheck is ConditionCheckItem
    # (and no Scan: the anchor reads the heads one by one, never the entries)
    allowed = {"GetItem", "Query", "PutItem", "TransactWriteItems.Put", "TransactWriteItems.ConditionCheck"}
    assert set(calls) - allowed == set(), calls
    assert calls.get("TransactWriteItems.Put", 0) > 0  # the appends were watched
