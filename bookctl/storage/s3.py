"""S3 and S3-compatible stores (R2, MinIO, GCS interop): `s3://bucket/prefix`.

boto3 with the standard AWS configuration: the credentials chain, `AWS_REGION`, and `AWS_ENDPOINT_URL`
(or `AWS_ENDPOINT_URL_S3`) for a non-AWS endpoint. Each object carries its SHA-256 twice: as user metadata
(`sha256`, hex, what `stat` reads back with one HEAD) and as `ChecksumSHA256`, which the server verifies on
upload so a corrupted body is refused instead of stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Iterable, Iterator

from bookctl.errors import ConfigError, NotFoundError, StorageError

_DELETE_BATCH = 1000  # the DeleteObjects limit


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/")."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if "@" in bucket:  # never echo it: it may hold a secret
        raise ConfigError("BOOKCTL_STORAGE_URL: an s3:// URL carries no credentials; use the AWS credentials chain "
                          "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ConfigError(f"BOOKCTL_STORAGE_URL: {bucket[:70]!r} is not a valid bucket name (expected s3://bucket/prefix)")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Store:
    def __init__(self, url: str, *, concurrency: int = 8, max_attempts: int = 5, client: Any = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = url
        if client is None:
            import boto3
            from botocore.config import Config

            # botocore's own retry handler rather than a hand-written loop: its "standard" mode retries
            # throttling (SlowDown, 503), 5xx and connection errors with exponential backoff and jitter,
            # and knows which S3 errors are safe to retry. Uploads are idempotent here (immutable keys).
            config = Config(retries={"mode": "standard", "total_max_attempts": max_attempts},
                            max_pool_connections=max(10, concurrency), connect_timeout=5, read_timeout=30)
            client = boto3.session.Session().client("s3", config=config)
        self.client = client
        self.endpoint = client.meta.endpoint_url

    # --------------------------------------------------------------- errors

    def _where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint}"

    def _error(self, exc: Exception, action: str, key: str | None = None) -> Exception:
        """One clear line naming the bucket and endpoint: ConfigError (exit 2) for a missing bucket or denied
        access, StorageError (exit 1) for everything else (unreachable endpoint, 5xx after retries)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        what = f"{action} {key}" if key else action
        if isinstance(exc, NoCredentialsError):
            return ConfigError(f"S3: no AWS credentials found for {self._where()} (set AWS_ACCESS_KEY_ID/"
                               "AWS_SECRET_ACCESS_KEY or a profile)")
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchBucket",) or (status == 404 and key is None):
                return ConfigError(f"S3: {self._where()} does not exist")
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
                        "Forbidden", "403") or status == 403:
                return ConfigError(f"S3: access denied to {self._where()} ({what}: {code or status})")
            return StorageError(f"S3: cannot {what} in {self._where()}: {code or status} {error.get('Message', '')}".rstrip())
        if isinstance(exc, BotoCoreError):
            return StorageError(f"S3: cannot reach {self._where()}: {exc}")
        return exc

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or any(p in (".", "..") for p in key.split("/")):
            raise StorageError(f"invalid object key {key!r}")
        return self.prefix + key

    # --------------------------------------------------------------- protocol

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - translated into one line
            raise self._error(exc, "reach") from None

    def stored_form(self, data: bytes) -> bytes:
        return data

    def put(self, key: str, data: bytes) -> None:
        digest = hashlib.sha256(data).digest()
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType="text/markdown; charset=utf-8",
                Metadata={"sha256": digest.hex()}, ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
            )
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "write", key) from None

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFoundError(f"object {key} is not in the store") from None
            raise self._error(exc, "read", key) from None
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "read", key) from None

    def stat(self, key: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise self._error(exc, "inspect", key) from None
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "inspect", key) from None
        found = head.get("Metadata", {}).get("sha256")
        if not found and head.get("ChecksumSHA256"):
            found = base64.b64decode(head["ChecksumSHA256"]).hex()
        return found or ""  # an object we did not write: present, hash unknown (never equal to a digest)

    def delete_many(self, keys: Iterable[str]) -> int:
        keys = [self._key(k) for k in keys]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start:start + _DELETE_BATCH]
            try:
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, "delete objects") from None
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageError(f"S3: cannot delete {first.get('Key')} in {self._where()}: {first.get('Code')}")
        return len(keys)

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                              Prefix=self.prefix + prefix):
                keys.extend(item["Key"][len(self.prefix):] for item in page.get("Contents", []))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "list objects") from None
        return iter(sorted(keys))

    def close(self) -> None:
        self.client.close()
