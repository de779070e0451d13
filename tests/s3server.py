"""A local S3 server for tests: moto's ``ThreadedMotoServer`` on a free port of 127.0.0.1.

:func:`s3_env` gives the ``AWS_*`` variables that point LanceDB, Lance, pyarrow and boto3
at it (for this process through ``monkeypatch.setenv``, for a child process through its
environment).
"""

from __future__ import annotations

import socket
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_env(url: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url, "AWS_ENDPOINT": url, "AWS_ALLOW_HTTP": "true",
            "AWS_EC2_METADATA_DISABLED": "true"}


@contextmanager
def moto_s3(bucket: str):
    """Start the server, create ``bucket``; yields the server's URL; stops the server."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        yield url
    finally:
        server.stop()
