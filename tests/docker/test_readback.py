"""A second `pulumi up` is a no-op: every container input the program sends is already in the form
pulumi-docker reads back after creating the container.

The provider's read-back, ported from terraform-provider-docker v4.5.0 (the upstream pulumi-docker
5.x bridges), internal/provider/resource_docker_container_funcs.go, resourceDockerContainerRead:
it inspects the container and stores Docker's values; the next `up` diffs the program's inputs
against them, and a difference in a ForceNew field is a replacement. The conversions here are
written from the Go source (helpers.go nanoInt64ToDecimalString, Go's time.Duration.String and
time.ParseDuration), not from flashdrive's own formatting helpers.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pytest

from flashdrive.plan import plan_spec

CONTAINER = "docker:index/container:Container"


# --- the provider's side ---------------------------------------------------------------------

def go_parse_duration(text: str) -> int:
    """time.ParseDuration for the units Docker's health check takes; nanoseconds."""
    units = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Go duration: {text!r}"
    return int(sum(Fraction(n) * units[u] for n, u in parts))


def go_duration_string(ns: int) -> str:
    """time.Duration.String()."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    seconds = _fraction(ns % (60 * 10**9), 10**9) + "s"
    minutes, hours = (ns // (60 * 10**9)) % 60, ns // (3600 * 10**9)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if ns >= 60 * 10**9:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _fraction(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def big_rat_float_string(rat: Fraction, digits: int) -> str:
    """big.Rat.FloatString: `digits` decimals, the last one rounded half away from zero."""
    scaled = abs(rat) * 10**digits
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    text = str(whole).rjust(digits + 1, "0")
    return ("-" if rat < 0 else "") + (f"{text[:-digits]}.{text[-digits:]}" if digits else text)


def nano_int64_to_decimal_string(nano: int) -> str:
    """helpers.go: NanoCPUs as the state's `cpus`, quirks included (it counts every "0")."""
    if nano == 0:
        return "0"
    rat = Fraction(nano, 10**9)
    text = big_rat_float_string(rat, 9)
    if text.count("0") == 9:
        return big_rat_float_string(rat, 1)
    return text.rstrip("0")


def provider_read_back(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the state holds for each input the provider re-reads from `docker inspect`."""
    back = dict(inputs)
    if "cpus" in inputs:  # HostConfig.NanoCPUs
        back["cpus"] = nano_int64_to_decimal_string(int(Fraction(inputs["cpus"]) * 10**9))
    for key in ("memory", "memorySwap"):  # bytes / 1024 / 1024
        if key in inputs:
            back[key] = (inputs[key] * 1024 * 1024) // 1024 // 1024
    if isinstance(inputs.get("healthcheck"), dict):
        check = dict(inputs["healthcheck"])
        for key in ("interval", "timeout", "startPeriod", "startInterval"):
            if key in check:
                check[key] = go_duration_string(go_parse_duration(check[key]))
        back["healthcheck"] = check
    return back


# --- the model of the provider catches what the issue found ----------------------------------

def test_the_read_back_model_reproduces_the_provider_drift_the_issue_found():
    assert provider_read_back({"cpus": "1"})["cpus"] == "1.0"
    assert provider_read_back({"cpus": "2"})["cpus"] == "2.0"
    assert provider_read_back({"cpus": "0.25"})["cpus"] == "0.25"
    assert provider_read_back({"cpus": "0.5"})["cpus"] == "0.5"
    assert provider_read_back({"cpus": "1.50"})["cpus"] == "1.5"
    check = provider_read_back({"healthcheck": {"interval": "60s", "timeout": "5s", "startPeriod": "90s"}})
    assert check["healthcheck"] == {"interval": "1m0s", "timeout": "5s", "startPeriod": "1m30s"}
    assert go_duration_string(3600 * 10**9) == "1h0m0s"
    assert go_duration_string(1_500_000_000) == "1.5s"


# --- the program's side ----------------------------------------------------------------------

SIZES = ["xs", "s", "m", "l", "xl"]


def spec_with_every_size() -> str:
    apps = "".join(
        f"  app-{size}:\n    image: ghcr.io/acme/web:1\n    size: {size}\n    nodes: 2\n"
        f"    health_check: {{path: /up, interval_s: {30 + 30 * i}, timeout_s: {5 + 55 * (i % 2)}, "
        f"start_period_s: {60 * i}, retries: 3}}\n"
        for i, size in enumerate(SIZES))
    databases = "".join(f"  db-{engine}: {{engine: {engine}, size: {size}}}\n"
                        for engine, size in zip(["postgres", "mysql", "mongodb", "redis"], SIZES))
    return ("version: 1\nstack: shop\ntls: {email: ops@example.com}\napps:\n" + apps
            + "  jobs: {image: ghcr.io/acme/web:1, type: worker, size: xl}\n"
            + "databases:\n" + databases)


@pytest.fixture(scope="module")
def containers(tmp_path_factory):
    path = tmp_path_factory.mktemp("readback") / "flashdrive.yaml"
    path.write_text(spec_with_every_size())
    return plan_spec(path).by_type(CONTAINER)


def test_every_container_input_is_sent_as_the_provider_reads_it_back(containers):
    assert len(containers) > 15
    for container in containers:
        inputs = container.inputs
        assert provider_read_back(inputs) == inputs, container.name


def test_the_plan_covers_every_size_and_health_checks_of_a_minute_and_more(containers):
    cpus = {c.inputs["cpus"] for c in containers}
    assert {"0.25", "0.5", "1.0", "2.0", "4.0"} <= cpus
    durations = {c.inputs["healthcheck"][k] for c in containers if c.inputs.get("healthcheck")
                 for k in ("interval", "startPeriod")}
    assert {"1m0s", "2m30s", "4m0s"} <= durations
