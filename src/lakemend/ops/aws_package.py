"""``lakemend aws package``: build what an EMR Serverless job run needs and upload it (plan, then apply).

Three artifacts go to ``aws.emr_serverless.artifacts`` (plus ``manifest.json`` naming their
sizes and SHA-256):

- ``entry.py`` — :mod:`lakemend.ops.remote_entry`, the job's entry point;
- ``project.zip`` — ``lakemend.yaml`` and the files it names (model SQL, contracts); never the
  landing data, the lake, the state DB or a masking key file;
- ``env.tar.gz`` — the Python environment, unpacked by EMR as ``./environment`` (``--archives``):
  ``lib/`` holds lakemend itself and, unless ``--no-deps``, every requirement pinned to the
  version installed here, as binary wheels for the cluster's platform and Python
  (``pip install --target lib --platform … --python-version … --only-binary=:all:``; the default
  platforms are the manylinux tags Amazon Linux 2023 runs);
  ``requirements.txt`` records the set; ``bin/python`` runs the image's ``python3`` with ``lib/``
  on ``PYTHONPATH`` (``$LAKEMEND_PYTHON`` picks another interpreter). The cluster's Python
  must be 3.11 or newer (EMR 7's default is 3.9: use a custom image, see docs/aws.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from lakemend.errors import LakemendError
from lakemend.lake import Lake
from lakemend.ops.remote import Artifacts, artifacts
from lakemend.project.project import PROJECT_FILE, Project

ENTRY_SOURCE = Path(__file__).with_name("remote_entry.py")
DEFAULT_PLATFORM = "manylinux_2_34_x86_64,manylinux_2_28_x86_64,manylinux2014_x86_64"
"""Amazon Linux 2023 (EMR 7) has glibc 2.34: wheels for any of these run there."""
DEFAULT_PYTHON = "3.11"
PYTHON_SHIM = """#!/bin/sh
# lakemend's packed environment: the image's Python with ./lib first on the path.
here=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" exec "${LAKEMEND_PYTHON:-python3}" "$@"
"""


class PackageError(LakemendError):
    """The job archive could not be built."""


@dataclass(frozen=True)
class Artifact:
    name: str
    uri: str
    path: Path
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "bytes": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Package:
    artifacts: tuple[Artifact, ...]
    requirements: tuple[str, ...]
    with_deps: bool

    def as_dict(self) -> dict[str, Any]:
        return {"artifacts": [a.as_dict() for a in self.artifacts], "requirements": list(self.requirements),
                "dependencies_included": self.with_deps}


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def project_files(project: Project) -> list[Path]:
    """``lakemend.yaml`` and every file it names (model SQL, contracts), relative to the project."""
    config = project.config
    names = [PROJECT_FILE]
    for layer in (config.silver, config.gold):
        for model in layer.values():
            names.append(model.sql)
            if model.contract:
                names.append(model.contract)
    return [Path(name) for name in dict.fromkeys(names)]


def build_project_zip(project: Project, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in project_files(project):
            info = zipfile.ZipInfo(relative.as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (project.root / relative).read_bytes())
    return target


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirement_set(root: str = "lakemend") -> tuple[str, ...]:
    """lakemend's requirements and theirs (extras asked for included), pinned to what is installed here."""
    pinned: dict[str, str] = {}
    todo = [(root, ())]
    while todo:
        name, extras = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for requirement in dist.requires or []:
            spec, _, marker = requirement.partition(";")
            marker = marker.strip()
            if marker:
                wanted = re.findall(r'extra\s*==\s*["\']([^"\']+)', marker)
                if wanted and not set(wanted) & set(extras):
                    continue
                if not wanted and not _marker_holds(marker):
                    continue
            dep = _name(spec)
            dep_extras = tuple(e.strip() for e in re.findall(r"\[([^\]]*)\]", spec)[0].split(",")) if "[" in spec else ()
            if dep not in pinned:
                try:
                    pinned[dep] = metadata.version(dep)
                except metadata.PackageNotFoundError:
                    continue
                todo.append((dep, dep_extras))
            elif dep_extras:
                todo.append((dep, dep_extras))
    pinned.pop(root, None)
    return tuple(f"{name}=={version}" for name, version in sorted(pinned.items()))


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # pragma: no cover - packaging comes with pip's environment
        return True
    try:
        return Marker(marker).evaluate({"extra": ""})
    except Exception:  # noqa: BLE001 - an unparseable marker: keep the requirement
        return True


def build_environment(target: Path, work: Path, *, with_deps: bool, platform: str, python_version: str,
                      requirements: tuple[str, ...]) -> Path:
    """``env.tar.gz``: ``lib/`` (lakemend + pinned wheels), ``requirements.txt``, ``bin/python``."""
    import lakemend

    lib = work / "environment" / "lib"
    lib.mkdir(parents=True)
    if with_deps and requirements:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                   "--target", str(lib), *[arg for tag in platform.split(",") if tag.strip()
                                           for arg in ("--platform", tag.strip())],
                   "--python-version", python_version,
                   "--implementation", "cp", "--only-binary=:all:", *requirements]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise PackageError(f"could not fetch the environment's wheels for {platform} / Python {python_version}: {last}",
                               "check the package registry is reachable, or pass --no-deps and provide the "
                               "requirements in a custom image")
    source = Path(lakemend.__file__).resolve().parent
    shutil.copytree(source, lib / "lakemend", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (work / "environment" / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted((work / "environment").rglob("*")):
            archive.add(path, arcname=path.relative_to(work / "environment").as_posix(), recursive=False)
        shim = PYTHON_SHIM.encode()
        info = tarfile.TarInfo("bin/python")
        info.size, info.mode = len(shim), 0o755
        archive.addfile(info, io.BytesIO(shim))
    return target


def build(project: Project, work: Path, *, with_deps: bool = True, platform: str = DEFAULT_PLATFORM,
          python_version: str = DEFAULT_PYTHON) -> Package:
    """Build the three artifacts in ``work`` (nothing is uploaded)."""
    where: Artifacts = artifacts(project)
    requirements = requirement_set()
    entry = work / "entry.py"
    shutil.copyfile(ENTRY_SOURCE, entry)
    built = [("entry.py", where.entry, entry),
             ("project.zip", where.project, build_project_zip(project, work / "project.zip")),
             ("env.tar.gz", where.environment,
              build_environment(work / "env.tar.gz", work / "env", with_deps=with_deps, platform=platform,
                                python_version=python_version, requirements=requirements))]
    return Package(tuple(Artifact(name, uri, path, path.stat().st_size, _digest(path)) for name, uri, path in built),
                   requirements, with_deps)


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def s3_client(lake: Lake) -> Any:
    """An S3 client for the artifacts: ``aws.s3.endpoint_url`` when set, else the control-plane settings."""
    s3 = lake.project.config.aws.s3
    if s3.endpoint_url:
        import boto3
        from botocore.config import Config

        style = {"addressing_style": "path"} if s3.path_style else {}
        return boto3.session.Session().client("s3", endpoint_url=s3.endpoint_url,
                                              region_name=lake.project.config.aws.region, config=Config(s3=style))
    from lakemend.observe.aws import client

    return client(lake, "s3")


def upload(lake: Lake, package: Package, *, client: Any = None) -> None:
    """Upload the artifacts, then ``manifest.json`` last (so a manifest names only uploaded files)."""
    client = client or s3_client(lake)
    uri = ""
    try:
        for artifact in package.artifacts:
            uri = artifact.uri
            bucket, key = split_s3(uri)
            client.upload_file(str(artifact.path), bucket, key)
        uri = artifacts(lake.project).manifest
        bucket, key = split_s3(uri)
        body = json.dumps({**package.as_dict(), "lakemend": metadata.version("lakemend")}, indent=2).encode()
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as exc:  # noqa: BLE001 - boto3's S3 errors (no bucket, access denied) as one line
        raise PackageError(f"could not upload {uri}: {exc}",
                           "run `lakemend aws check` to see what is missing (bucket, credentials)") from None
