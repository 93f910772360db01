"""S3 settings for the lake: one description of the endpoint and credentials, handed to pyarrow (writes),
polars (reads) and boto3 (preflight), so every client talks to the same store.

Values come from the standard AWS environment unless given: AWS_ENDPOINT_URL (any S3-compatible store),
AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyarrow.fs as pafs


class LakeConfigError(RuntimeError):
    """The lake cannot be used as configured; the message names the setting to fix."""


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    @classmethod
    def from_env(cls, **overrides) -> "S3Settings":
        env = os.environ
        values = {
            "endpoint_url": env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            "access_key": env.get("AWS_ACCESS_KEY_ID"),
            "secret_key": env.get("AWS_SECRET_ACCESS_KEY"),
            "session_token": env.get("AWS_SESSION_TOKEN"),
        }
        values.update({k: v for k, v in overrides.items() if v})
        return cls(**values)

    def filesystem(self) -> pafs.S3FileSystem:
        kwargs: dict = {"region": self.region or "us-east-1", "retry_strategy": pafs.AwsStandardS3RetryStrategy(3),
                        "connect_timeout": 10, "request_timeout": 60}
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            kwargs["endpoint_override"] = parts.netloc + parts.path
            kwargs["scheme"] = parts.scheme or "https"
        if self.access_key:
            kwargs.update(access_key=self.access_key, secret_key=self.secret_key, session_token=self.session_token)
        return pafs.S3FileSystem(**kwargs)

    def polars_options(self) -> dict[str, str]:
        options = {"aws_region": self.region or "us-east-1"}
        if self.endpoint_url:
            options["aws_endpoint_url"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["aws_allow_http"] = "true"
        if self.access_key:
            options.update(aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key or "")
            if self.session_token:
                options["aws_session_token"] = self.session_token
        return options

    def client(self, attempts: int = 1):
        """A boto3 S3 client (for what pyarrow's filesystem cannot say: bucket checks, conditional writes)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region or "us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            aws_session_token=self.session_token,
            config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": attempts, "mode": "standard"}),
        )

    def check_bucket(self, bucket: str, lake_url: str) -> None:
        """Fail early, in words that name the setting, when the bucket cannot be used."""
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        client = self.client()
        endpoint = self.endpoint_url or "AWS S3"
        try:
            client.head_bucket(Bucket=bucket)
        except NoCredentialsError as exc:
            raise LakeConfigError("no AWS credentials for the lake: set AWS_ACCESS_KEY_ID and "
                                  "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)") from exc
        except EndpointConnectionError as exc:
            raise LakeConfigError(f"cannot reach the S3 endpoint {endpoint}: check AWS_ENDPOINT_URL ({exc})") from exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchBucket"):
                raise LakeConfigError(f"bucket '{bucket}' does not exist at {endpoint}: "
                                      f"check MRF_LAKE_URL ({lake_url}) or create the bucket") from exc
            if code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "AccessDenied"):
                raise LakeConfigError(f"{endpoint} refused the credentials for bucket '{bucket}' ({code}): "
                                      "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY") from exc
            raise LakeConfigError(f"S3 error on bucket '{bucket}' at {endpoint}: {exc}") from exc
        except BotoCoreError as exc:
            raise LakeConfigError(f"cannot use the S3 endpoint {endpoint}: check AWS_ENDPOINT_URL ({exc})") from exc
