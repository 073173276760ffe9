"""``lakemend aws package`` and ``lakemend aws check``: the EMR Serverless side of ``engine: emr-serverless``."""

from __future__ import annotations

from typing import Annotated

import typer

from lakemend.cli import context
from lakemend.cli import options as opt

aws_app = typer.Typer(help="EMR Serverless: upload the job archive, check the AWS setup (see docs/aws.md).",
                      no_args_is_help=True)


@aws_app.command("package")
def package(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build the archive locally and list what would be uploaded; upload nothing.")] = False,
    no_deps: Annotated[bool, typer.Option("--no-deps", help="Ship lakemend only (the image provides its requirements: requirements.txt in the archive).")] = False,
    platform: Annotated[str, typer.Option("--platform", help="pip platform tags of the cluster's wheels, comma-separated (aarch64 for Graviton).")] = "manylinux_2_34_x86_64,manylinux_2_28_x86_64,manylinux2014_x86_64",
    python_version: Annotated[str, typer.Option("--python-version", help="The cluster's Python (3.11 or newer).")] = "3.11",
    output: opt.Output = None,
) -> None:
    """Build the job archive (entry point, project files, Python environment) and upload it to aws.emr_serverless.artifacts.

    Example: [bold]lakemend --profile aws aws package --dry-run[/]
    """
    import tempfile
    from pathlib import Path

    from lakemend.ops.aws_package import build, upload

    out = context.output(output)
    lake = context.open_lake()
    with tempfile.TemporaryDirectory(prefix="lakemend-package-") as work:
        built = build(lake.project, Path(work), with_deps=not no_deps, platform=platform, python_version=python_version)
        if not dry_run:
            upload(lake, built)
    out.document({**built.as_dict(), "uploaded": not dry_run})
    out.table("Job archive" + (" (dry run: nothing uploaded)" if dry_run else ""), ["artifact", "uri", "bytes", "sha256"],
              [[a.name, a.uri, a.size, a.sha256[:16]] for a in built.artifacts])
    deps = "lakemend only (--no-deps)" if no_deps else f"lakemend + {len(built.requirements)} pinned requirements"
    out.text(f"Environment: {deps} for {platform} / Python {python_version}.")
    out.text("[bold]Dry run:[/] nothing was uploaded." if dry_run else "Uploaded. Next: lakemend aws check")


@aws_app.command("check")
def check(output: opt.Output = None) -> None:
    """Check that the EMR Serverless application, job role, buckets, artifacts and Glue databases exist; exit 1 if not.

    Example: [bold]lakemend --profile aws aws check[/]
    """
    from lakemend.ops.aws_check import check as run_checks

    out = context.output(output)
    lake = context.open_lake()
    results = run_checks(lake)
    out.document([r.as_dict() for r in results])
    out.table("AWS setup", ["what", "target", "status", "detail", "fix"],
              [[r.what, r.target, "ok" if r.ok else "MISSING", r.detail, r.fix] for r in results])
    missing = [r for r in results if not r.ok]
    if missing:
        out.problem(f"{len(missing)} of {len(results)} checks failed — run the fixes shown, then lakemend aws check again")
        raise typer.Exit(1)
    out.text(f"All {len(results)} checks passed.")
