"""Generated flashdrive.yaml specs for the plan benchmarks: prebuilt-image apps only (no build),
so the figures measure the program, not Docker."""

from __future__ import annotations

from pathlib import Path

DATABASES = 10


def generated_spec(apps: int, *, stack: str = "bench", databases: int = DATABASES) -> str:
    """`apps` web apps, each with 2 nodes, a database reference (secret), a disk and a domain,
    sharing `databases` postgres databases (one per app when there are fewer apps)."""
    databases = max(1, min(databases, apps))
    lines = ["version: 1", f"stack: {stack}", "tls: {email: ops@example.com}", "apps:"]
    for i in range(apps):
        lines += [
            f"  app{i}:",
            "    image: nginx:1.27",
            "    port: 8080",
            "    size: xs",
            "    nodes: 2",
            "    env:",
            f"      DATABASE_URL: ${{databases.db{i % databases}.url}}",
            f"      APP_INDEX: \"{i}\"",
            "    disks:",
            f"      - {{name: data{i}, mount: /data, size_gb: 1, access: read_only}}",
            "    domains:",
            f"      - app{i}.example.com",
        ]
    lines.append("databases:")
    for d in range(databases):
        lines.append(f"  db{d}: {{engine: postgres}}")
    return "\n".join(lines) + "\n"


def write_spec(folder: Path, apps: int, **kwargs) -> Path:
    path = folder / f"flashdrive.{apps}.yaml"
    path.write_text(generated_spec(apps, **kwargs))
    return path
