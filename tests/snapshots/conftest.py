"""Fixtures for snapshot tests: a moto S3 server over real HTTP on 127.0.0.1, stores, a demo snapshot meta."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from repro.config import SnapshotSettings
from repro.snapshots.store import Store, open_store


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the session (port 0: the OS picks a free one); tests use their own buckets."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_settings(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> SnapshotSettings:
    """Settings of an S3 store in a fresh bucket, credentials from the standard AWS environment variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"repro-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return SnapshotSettings(store=f"s3://{bucket}/team/snaps", endpoint_url=moto_endpoint)


@pytest.fixture
def local_settings(tmp_path: Path) -> SnapshotSettings:
    return SnapshotSettings(store=str(tmp_path / "store"))


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest) -> SnapshotSettings:
    """Runs a test once against a local folder and once against S3 (moto)."""
    name = "local_settings" if request.param == "local" else "s3_settings"
    settings: SnapshotSettings = request.getfixturevalue(name)
    return settings


@pytest.fixture
def store(store_settings: SnapshotSettings) -> Store:
    return open_store(store_settings)
