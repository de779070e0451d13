"""The lock object on S3, written only with conditional requests.

``create`` is a PUT with ``If-None-Match: *`` (exactly one of several writers racing for an
absent key succeeds; the others get 412), ``replace`` a PUT with ``If-Match: <etag>`` (a
heartbeat, or the takeover of a stale lock: of two processes taking over the same stale
lock, one wins), ``delete`` a DELETE with ``If-Match`` (a release never removes a lock
somebody else took). S3 has honoured these since 2024; S3-compatible stores that do not
answer 412 to a conditional PUT are not safe for two concurrent ingests.

Endpoint and credentials: query parameters of the database URI
(``s3://bucket/lake?endpoint_override=host:port&scheme=http``), else the usual ``AWS_*``
environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``...), as for the tables.
"""

from __future__ import annotations

from urllib.parse import parse_qs


def _client(query: dict[str, list[str]]):
    import boto3
    from botocore.config import Config

    kw = {}
    if "endpoint_override" in query:
        scheme = query.get("scheme", ["https"])[0]
        kw["endpoint_url"] = f"{scheme}://{query['endpoint_override'][0]}"
    if "region" in query:
        kw["region_name"] = query["region"][0]
    return boto3.client("s3", config=Config(retries={"max_attempts": 3, "mode": "standard"}), **kw)


def _status(err) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3LockObject:
    """One S3 key read and written with conditional requests; etags identify versions."""

    def __init__(self, uri: str, name: str):
        rest = uri.split("://", 1)[1]
        rest, _, query = rest.partition("?")
        self.bucket, _, prefix = rest.partition("/")
        self.key = (prefix.rstrip("/") + "/" if prefix.strip("/") else "") + name
        self.client = _client(parse_qs(query))

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def get(self) -> tuple[bytes | None, str | None]:
        """(contents, etag), or (None, None) when the key does not exist."""
        from botocore.exceptions import ClientError

        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as e:
            if _status(e) == 404:
                return None, None
            raise OSError(f"cannot read the lock {self.url}: {e}") from e
        return r["Body"].read(), r["ETag"]

    def _put(self, data: bytes, **cond) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=data, **cond)["ETag"]
        except ClientError as e:
            if _status(e) in (409, 412):  # someone else's write won (409: a conflicting one in flight)
                return None
            raise OSError(f"cannot write the lock {self.url}: {e}") from e

    def create(self, data: bytes) -> str | None:
        """Write the key only if it does not exist; its etag, or None when it does."""
        return self._put(data, IfNoneMatch="*")

    def replace(self, data: bytes, etag: str) -> str | None:
        """Overwrite the key only if it is still version ``etag``; the new etag, or None."""
        return self._put(data, IfMatch=etag)

    def delete(self, etag: str) -> bool:
        """Delete the key only if it is still version ``etag``."""
        from botocore.exceptions import ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=etag)
            return True
        except ClientError as e:
            if _status(e) in (404, 409, 412):
                return False
            raise OSError(f"cannot delete the lock {self.url}: {e}") from e
