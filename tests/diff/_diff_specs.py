"""The base stack of the diff tests and the spec mutations a pull request might make to it.

Apps run prebuilt images, so planning needs no source folder and writes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import yaml

BASE = {
    "version": 1,
    "stack": "shop",
    "tls": {"email": "ops@example.com"},
    "apps": {
        "web": {
            "image": "ghcr.io/acme/shop:1.4",
            "port": 8000,
            "nodes": 2,
            "env": {
                "SECRET_KEY": {"generate": "secret", "length": 50},
                "DATABASE_URL": "${databases.main.url}",
                "LOG_LEVEL": "INFO",
            },
            "disks": [{"name": "media", "mount": "/app/media", "size_gb": 2}],
            "domains": ["shop.example.com"],
        },
        "worker": {
            "image": "ghcr.io/acme/shop:1.4",
            "type": "worker",
            "env": {"DATABASE_URL": "${databases.main.url}", "REDIS_URL": "${databases.cache.url}"},
        },
    },
    "databases": {
        "main": {"engine": "postgres", "version": "16", "disk_gb": 10},
        "cache": {"engine": "redis"},
    },
}

Mutation = Callable[[dict], None]


def rename_app(spec: dict) -> None:
    spec["apps"]["store"] = spec["apps"].pop("web")


def remove_disk(spec: dict) -> None:
    del spec["apps"]["web"]["disks"]


def rename_disk(spec: dict) -> None:
    spec["apps"]["web"]["disks"][0]["name"] = "uploads"


def rename_database(spec: dict) -> None:
    spec["databases"]["primary"] = spec["databases"].pop("main")
    for app in spec["apps"].values():
        app["env"]["DATABASE_URL"] = "${databases.primary.url}"


def change_engine(spec: dict) -> None:
    spec["databases"]["main"] = {"engine": "mysql", "disk_gb": 10}


def resize_disk(spec: dict) -> None:
    spec["apps"]["web"]["disks"][0]["size_gb"] = 4


def change_env(spec: dict) -> None:
    spec["apps"]["web"]["env"]["LOG_LEVEL"] = "DEBUG"


def more_nodes(spec: dict) -> None:
    spec["apps"]["web"]["nodes"] = 3


def drop_worker(spec: dict) -> None:
    del spec["apps"]["worker"]


def drop_web(spec: dict) -> None:
    del spec["apps"]["web"]


def change_domain(spec: dict) -> None:
    spec["apps"]["web"]["domains"] = ["www.example.com"]


def remove_database(spec: dict) -> None:
    del spec["databases"]["cache"]
    del spec["apps"]["worker"]["env"]["REDIS_URL"]


def rename_stack(spec: dict) -> None:
    spec["stack"] = "store"


def write_spec(folder: Path, name: str, mutation: Mutation | None = None) -> Path:
    spec = copy.deepcopy(BASE)
    if mutation is not None:
        mutation(spec)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
