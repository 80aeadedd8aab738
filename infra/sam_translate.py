"""template.yaml as SAM translates it: the plain CloudFormation that `sam deploy` creates, printed as JSON.

Run with the tools venv (`.venv-tools/bin/python -m infra.sam_translate [--stdin]`), which holds aws-sam-translator;
the tests read the roles, stages and alarms that SAM generates from this output (tests/infra/conftest.py). Managed
policies are resolved offline to their ARNs by name, as SAM would with the IAM API.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from typing import Any

from samtranslator.translator.transform import transform

from infra.template import load_template

# Only these AWS managed policies are named by the template (SAM's own AWSLambdaBasicExecutionRole and X-Ray);
# offline, SAM needs each name's ARN.
_MANAGED = ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess")


class _OfflinePolicies:
    def load(self) -> dict[str, str]:
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in _MANAGED}


def translated(template: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """`template` (template.yaml when None) as SAM translates it."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # SAM fills AWS::Region from boto3's session
    template = copy.deepcopy(template) if template is not None else load_template()
    # As `sam package` does: local code folders become S3 objects (the translation checks only their form).
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://doti-artifacts/{properties[key].strip('/')}"
    translated = transform(template, parameters or {}, _OfflinePolicies())
    _carry_checkov_skips(template, translated)
    return translated


def _carry_checkov_skips(template: dict[str, Any], translated: dict[str, Any]) -> None:
    """SAM gives an Api's Metadata to the RestApi it makes, not to the Stage; the stage is where the skipped checks
    (caching) apply, so the skip and its reason go there too. Likewise a function's FunctionUrlConfig becomes an
    AWS::Lambda::Url (`<Function>Url`) without the function's Metadata: its skips (AuthType NONE) go there."""
    for name, resource in template["Resources"].items():
        skips = (resource.get("Metadata") or {}).get("checkov")
        if resource["Type"] == "AWS::Serverless::Function" and skips and f"{name}Url" in translated["Resources"]:
            translated["Resources"][f"{name}Url"].setdefault("Metadata", {})["checkov"] = skips
        if resource["Type"] != "AWS::Serverless::Api" or not skips:
            continue
        for generated in translated["Resources"].values():
            if generated["Type"] == "AWS::ApiGateway::Stage" and generated["Properties"]["RestApiId"] == {"Ref": name}:
                generated.setdefault("Metadata", {})["checkov"] = skips


if __name__ == "__main__":
    # --stdin: translate the template given as JSON on stdin (a test's variant of template.yaml)
    given = json.load(sys.stdin) if "--stdin" in sys.argv[1:] else None
    json.dump(translated(given), sys.stdout, indent=1, sort_keys=True, default=str)
