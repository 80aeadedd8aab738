"""The one Logger, Metrics and Tracer of a function; service name and namespace come from POWERTOOLS_* variables."""

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# At DEBUG, PynamoDB and botocore log whole requests, password hashes and session token hashes included: whatever
# level the function runs at, they speak only of problems.
for _name in ("pynamodb", "botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)
