"""The fake credentials moto's S3 server accepts, and the environment that makes boto3 use
them and nothing from the machine (no profile, no config or credentials file): the stand-in
for S3 in the storage tests, the two-host test and `make bench-scaling`."""

from __future__ import annotations

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
