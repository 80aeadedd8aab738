"""Create template.yaml's buckets, tables, queues, keys and SSM parameters in an AWS endpoint (moto, locally and in
tests).

Only the resource types the service stores data or configuration in are provisioned; their properties are translated
from the template, so key schemas, indexes, TTL and lifecycle rules are never written twice. Template parameters take
their defaults unless `parameters` overrides them, as `sam deploy --parameter-overrides` does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.template import IntrinsicResolver, functions

ACCOUNT_ID = "123456789012"  # moto's account
# !GetAtt values only AWS makes, when the caller gives none: the thumbnail renderer's Function URL is a name that never
# resolves (RFC 2606 .invalid), so tests and benches sign links to it and hand them to the handler themselves; the
# local stack gives its own renderer's address.
LOCAL_ATTRIBUTES = {"ThumbnailFunctionUrl.FunctionUrl": "https://thumbnails.invalid/"}


@dataclass
class Provisioned:
    """What was created: Ref values and ARNs by logical id, and each function's resolved environment."""

    refs: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The union of all functions' variables (the local stack runs every handler in one process)."""
        merged: dict[str, str] = {}
        for env in self.environments.values():
            merged.update(env)
        return merged


def _resources(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res.get("Properties", {}) for name, res in template["Resources"].items() if res["Type"] == kind}


class _Provisioner:
    def __init__(
        self,
        template: Mapping[str, Any],
        session: boto3.Session,
        region: str,
        stage: str,
        prefix: str,
        overrides: Mapping[str, str],
        attributes: Mapping[str, str],
    ):
        self.template = template
        self.attributes = attributes
        self.region = region
        self.prefix = prefix
        self.out = Provisioned()
        self.ddb = session.client("dynamodb", region_name=region)
        self.s3 = session.client("s3", region_name=region)
        self.sqs = session.client("sqs", region_name=region)
        self.kms = session.client("kms", region_name=region)
        self.session = session
        declared = template.get("Parameters", {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise KeyError(f"template.yaml has no parameters {', '.join(unknown)}")
        parameters = (
            {name: str(spec.get("Default", "")) for name, spec in declared.items()}
            | dict(overrides)
            | {
                "Stage": stage,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Region": region,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": prefix,
                # Stable for a prefix, as a stack's id is for its life (the bucket name ends with a part of it).
                "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{prefix}/"
                f"{uuid.uuid5(uuid.NAMESPACE_URL, prefix)}",
            }
        )
        self.resolver = IntrinsicResolver(parameters, self.out.refs, self._attribute, template.get("Conditions", {}))
        # Resources whose Condition is false do not exist, as in CloudFormation.
        self.template = {
            **template,
            "Resources": {
                name: resource
                for name, resource in template["Resources"].items()
                if "Condition" not in resource or self.resolver.condition(resource["Condition"])
            },
        }

    def _attribute(self, logical: str, attribute: str) -> str:
        if attribute == "Arn" and logical in self.out.arns:
            return self.out.arns[logical]
        if f"{logical}.{attribute}" in self.attributes:  # what only AWS makes, played locally (a Function URL)
            return self.attributes[f"{logical}.{attribute}"]
        raise KeyError(f"cannot resolve {logical}.{attribute} locally")

    def tables(self) -> None:
        for logical, props in _resources(self.template, "AWS::DynamoDB::Table").items():
            name = f"{self.prefix}-{logical}"
            kwargs: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            description = self.ddb.create_table(**kwargs)["TableDescription"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                self.ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            pitr = props.get("PointInTimeRecoverySpecification")
            if pitr:
                self.ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
            self.out.refs[logical] = name
            self.out.arns[logical] = description["TableArn"]

    def keys(self) -> None:
        for logical, props in _resources(self.template, "AWS::KMS::Key").items():
            # An HMAC key (the thumbnail links') is made as one: KMS refuses GenerateMac under an encryption key.
            spec = {name: props[name] for name in ("KeySpec", "KeyUsage") if name in props}
            key = self.kms.create_key(Description=f"{self.prefix} {logical}", **spec)["KeyMetadata"]
            self.out.refs[logical] = key["KeyId"]
            self.out.arns[logical] = key["Arn"]
        for props in _resources(self.template, "AWS::KMS::Alias").values():
            self.kms.create_alias(
                AliasName=self.resolver.resolve(props["AliasName"]),
                TargetKeyId=self.resolver.resolve(props["TargetKeyId"]),
            )

    def mail_identities(self) -> None:
        ses = self.session.client("ses", region_name=self.region)
        for props in _resources(self.template, "AWS::SES::EmailIdentity").values():
            ses.verify_email_identity(EmailAddress=self.resolver.resolve(props["EmailIdentity"]))

    def queues(self) -> None:
        queues = _resources(self.template, "AWS::SQS::Queue")
        for logical in queues:  # create all first: redrive policies refer to other queues' ARNs
            url = self.sqs.create_queue(QueueName=f"{self.prefix}-{logical}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.out.refs[logical] = url
            self.out.arns[logical] = arn
        for logical, props in queues.items():
            attributes = {
                key: str(props[key]) for key in ("VisibilityTimeout", "MessageRetentionPeriod") if key in props
            }
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(self.resolver.resolve(props["RedrivePolicy"]))
            if attributes:
                self.sqs.set_queue_attributes(QueueUrl=self.out.refs[logical], Attributes=attributes)

    def buckets(self) -> None:
        for logical, props in _resources(self.template, "AWS::S3::Bucket").items():
            name = (
                self.resolver.resolve(props["BucketName"])
                if "BucketName" in props
                else f"{self.prefix}-{logical}".lower()
            )
            create: dict[str, Any] = {"Bucket": name}
            if self.region != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            if props.get("ObjectLockEnabled"):
                create["ObjectLockEnabledForBucket"] = True  # only at creation, as in AWS; it turns versioning on
            self.s3.create_bucket(**create)
            self.out.refs[logical] = name
            self.out.arns[logical] = f"arn:aws:s3:::{name}"
            if "VersioningConfiguration" in props:
                self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
            if "ObjectLockConfiguration" in props:
                lock = self.resolver.resolve(props["ObjectLockConfiguration"])
                retention = lock["Rule"]["DefaultRetention"]
                rule = {"DefaultRetention": {k: int(v) if k in ("Days", "Years") else v for k, v in retention.items()}}
                self.s3.put_object_lock_configuration(
                    Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": lock["ObjectLockEnabled"], "Rule": rule}
                )
            if "PublicAccessBlockConfiguration" in props:
                self.s3.put_public_access_block(
                    Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
                )
            if "BucketEncryption" in props:
                # CloudFormation says ServerSideEncryptionByDefault where the S3 API says Apply…
                rules = [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
                self.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
            if "LifecycleConfiguration" in props:
                rules = [lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
                self.s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
            if "NotificationConfiguration" in props:
                self.s3.put_bucket_notification_configuration(
                    Bucket=name,
                    NotificationConfiguration=notification_configuration(
                        self.resolver.resolve(props["NotificationConfiguration"])
                    ),
                )
        for props in _resources(self.template, "AWS::S3::BucketPolicy").values():
            document = local_bucket_policy(self.resolver.resolve(props["PolicyDocument"]))
            if document["Statement"]:
                self.s3.put_bucket_policy(Bucket=self.resolver.resolve(props["Bucket"]), Policy=json.dumps(document))

    def ssm_parameters(self) -> None:
        ssm = self.session.client("ssm", region_name=self.region)
        for logical, props in _resources(self.template, "AWS::SSM::Parameter").items():
            name = self.resolver.resolve(props["Name"])
            try:
                value = str(self.resolver.resolve(props["Value"]))
            except KeyError:
                # A value made of what exists only in AWS (the API's own URL): without a parameter override that
                # replaces it, the parameter is left out, and whatever reads it fails loudly as a misconfiguration.
                continue
            ssm.put_parameter(Name=name, Value=value, Type=props.get("Type", "String"), Overwrite=True)
            self.out.refs[logical] = name
            self.out.arns[logical] = f"arn:aws:ssm:{self.region}:{ACCOUNT_ID}:parameter{name}"

    def environments(self) -> None:
        deployed = functions(self.template)
        for name, spec in deployed.items():
            environment = {}
            for variable, value in spec.environment.items():
                # A function's name (CLIP_FUNCTION_NAME) is left out: moto runs no function (its Lambda needs Docker),
                # and without it the callers encode clips in process (doti.runtime.clip_encoder).
                if isinstance(value, dict) and value.get("Ref") in deployed:
                    continue
                try:
                    environment[variable] = str(self.resolver.resolve(value))
                except KeyError:
                    continue  # as for SSM parameters: what reads it fails loudly as a misconfiguration
            self.out.environments[name] = environment


def lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape of S3's PutBucketLifecycleConfiguration."""
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"]}
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
    prefix = rule.get("Prefix")
    if tags and (prefix or len(tags) > 1):
        out["Filter"] = {"And": {"Tags": tags, **({"Prefix": prefix} if prefix else {})}}
    elif tags:
        out["Filter"] = {"Tag": tags[0]}
    else:
        out["Filter"] = {"Prefix": prefix or ""}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def local_bucket_policy(document: Mapping[str, Any]) -> dict[str, Any]:
    """The bucket policy minus its TLS-only statements: moto enforces them, and the embedded AWS speaks plain HTTP.

    The deployed bucket keeps them (tests read them from template.yaml); locally every other statement applies.
    """
    statements = [s for s in document["Statement"] if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))]
    return {**document, "Statement": statements}


def notification_configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    queues = []
    for item in config.get("QueueConfigurations", []):
        entry: dict[str, Any] = {"QueueArn": item["Queue"], "Events": [item["Event"]]}
        rules = item.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    return {"QueueConfigurations": queues}


def provision(
    template: Mapping[str, Any],
    *,
    session: boto3.Session | None = None,
    region: str = "us-east-1",
    stage: str = "local",
    prefix: str = "doti-local",
    parameters: Mapping[str, str] | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Provisioned:
    """Create every table, key, queue, bucket and SSM parameter of the template; returns names and function
    environments. `parameters` override the template parameters' defaults (e.g. PublicBaseUrl, the local API's URL);
    `attributes` give the !GetAtt values only AWS makes, by "Logical.Attribute" (ThumbnailFunctionUrl.FunctionUrl:
    the local renderer's URL). A variable made of such a value, not given, is left out of the environment.
    """
    provisioner = _Provisioner(
        template,
        session or boto3.Session(),
        region,
        stage,
        prefix,
        parameters or {},
        LOCAL_ATTRIBUTES | dict(attributes or {}),
    )
    provisioner.tables()
    provisioner.keys()
    provisioner.mail_identities()
    provisioner.queues()
    provisioner.buckets()
    provisioner.ssm_parameters()
    provisioner.environments()
    return provisioner.out
