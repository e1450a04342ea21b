"""A pull request's preview on Kubernetes: its own namespace, the base's backup repository read
through a read-only server that a NetworkPolicy opens to the preview's seed alone, the seed Job,
then the releases, the scrub, the copies; and the base's plan untouched by all of it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from _k8s_helpers import PREVIEWED, ROOT, containers, env_of, objects, plan_for, pod_templates
from test_kubernetes_network_reachability import Cluster, Endpoint
from test_kubernetes_schema import VERSIONS, validate

from flashdrive.diff import diff_plans
from flashdrive.kubernetes.preview import SEED_DIR, SeedSource, fetch_script, load_command
from flashdrive.plan import render
from flashdrive.plan.manifests import manifests
from flashdrive.pipeline import check_spec

BASE_NS, PREVIEW_NS = "shop-prod", "shop-prod-pr-7"


def _at_root(**kwargs):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return plan_for(PREVIEWED, **kwargs)


@pytest.fixture(scope="module")
def preview():
    return _at_root(preview=7)


@pytest.fixture(scope="module")
def base():
    return _at_root()


def by_namespace(plan) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for m in manifests(plan):
        found.setdefault(m["metadata"].get("namespace", m["metadata"]["name"] if m["kind"] == "Namespace" else ""),
                         set()).add((m["kind"], m["metadata"]["name"]))
    return found


def pod_spec(manifest: dict) -> dict:
    return next(pod_templates(manifest))["spec"]


def test_a_preview_lives_in_its_own_namespace_named_from_what_kubernetes_namespace_says(preview):
    spaces = by_namespace(preview)
    # The base's namespace gets the reader and its policy, nothing else: everything else is the preview's.
    assert spaces[BASE_NS] == {("Deployment", "backup-reader-pr-7"), ("Service", "backup-reader-pr-7"),
                               ("Secret", "backup-reader-pr-7"),
                               ("NetworkPolicy", "allow-pr-7-seed-to-backup-reader-pr-7")}
    assert set(spaces) == {BASE_NS, PREVIEW_NS}
    assert ("Deployment", "web") in spaces[PREVIEW_NS] and ("Namespace", PREVIEW_NS) in spaces[PREVIEW_NS]
    assert preview.outputs["namespace"] == PREVIEW_NS


def test_without_kubernetes_namespace_the_preview_namespace_is_the_preview_stack_name(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    text = PREVIEWED.read_text().replace("  namespace: shop-prod\n", "")
    spec.write_text(text)
    plan = plan_for(spec, preview=12)
    assert plan.outputs["namespace"] == "shop-pr-12"
    reader = objects(plan)[("Deployment", "backup-reader-pr-12")]
    assert reader["metadata"]["namespace"] == "shop"


def test_destroying_a_preview_deletes_its_namespace_and_claims_and_never_the_base_s(preview, base):
    retained = {(r.type.rsplit(":", 1)[-1], r.name) for r in preview.resources if r.options.get("retainOnDelete")}
    assert retained == set()
    assert {("Namespace", "shop-namespace"), ("PersistentVolumeClaim", "shop-backup-backups")} <= {
        (r.type.rsplit(":", 1)[-1], r.name) for r in base.resources if r.options.get("retainOnDelete")}
    # The base's repository claim is read, never declared, by the preview: it cannot delete it.
    assert not any(m["kind"] == "PersistentVolumeClaim" and m["metadata"]["namespace"] == BASE_NS
                   for m in manifests(preview))


def test_the_reader_serves_the_base_repository_read_only_on_the_base_server_s_node(preview):
    reader = objects(preview)[("Deployment", "backup-reader-pr-7")]
    spec = pod_spec(reader)
    (server,) = spec["containers"]
    # rclone has no read-only switch for `serve restic`: the mount is read-only, and append-only besides.
    assert server["command"][:4] == ["rclone", "serve", "restic", "--append-only"]
    repository = next(v for v in spec["volumes"] if v["name"] == "repository")
    assert repository["persistentVolumeClaim"] == {"claimName": "shop-backup-backups", "readOnly": True}
    assert {"name": "repository", "mountPath": "/repository", "readOnly": True} in server["volumeMounts"]
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    term = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "backup-server"}
    env = env_of(server)
    assert env["RCLONE_USER"]["value"] == "reader"
    assert env["RCLONE_PASS"]["valueFrom"]["secretKeyRef"]["name"] == "backup-reader-pr-7"
    assert "--pass" not in " ".join(server["command"])


def _world(preview, base) -> tuple[Cluster, dict[str, Endpoint]]:
    """Both stacks' pods and policies, each in its own namespace, with a pod of another namespace."""
    pods: dict[str, Endpoint] = {}
    found = [*manifests(base), *manifests(preview)]
    for n, manifest in enumerate(m for m in found if m["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")):
        namespace = manifest["metadata"]["namespace"]
        for template in pod_templates(manifest):
            key = ("preview " if namespace == PREVIEW_NS else "base ") + manifest["metadata"]["name"]
            pods[key] = Endpoint(manifest["metadata"]["name"], f"10.244.{n}.10", namespace, template["metadata"]["labels"])
    pods["elsewhere"] = Endpoint("other", "10.244.200.10", "other", {"app.kubernetes.io/component": "seed",
                                                                     "app.kubernetes.io/name": "seed"})
    pods["coredns"] = Endpoint("coredns", "10.244.201.5", "kube-system", {"k8s-app": "kube-dns"})
    pods["internet"] = Endpoint("example.com", "93.184.215.14")
    return Cluster([m for m in found if m["kind"] == "NetworkPolicy"]), pods


def test_only_the_preview_s_seed_reaches_the_reader_and_nothing_else_of_the_base(preview, base):
    cluster, pod = _world(preview, base)
    reader, seed = pod["base backup-reader-pr-7"], pod["preview seed"]
    assert cluster.can(seed, reader, 8000)
    assert not cluster.can(seed, reader, 8080)
    for other in ("preview web", "preview worker", "preview shop-pr-7-db-main", "elsewhere"):
        assert not cluster.can(pod[other], reader, 8000), other
    # Nothing of the preview reaches the base's data or its writable backup server, the seed included.
    for target, port in (("base shop-db-main", 5432), ("base backup-server", 8000), ("base web", 8000)):
        for source in ("preview seed", "preview web", "preview worker"):
            assert not cluster.can(pod[source], pod[target], port), (source, target)
    # The seed reaches its own databases (to load them) and DNS, and not the internet.
    assert cluster.can(seed, pod["preview shop-pr-7-db-main"], 5432)
    assert cluster.can(seed, pod["coredns"], 53, "UDP")
    assert not cluster.can(seed, pod["internet"], 443)
    # Without the base-side policy the base's default-deny keeps the seed out (the evaluator is strict).
    closed = Cluster([p for p in cluster.policies if p["metadata"]["name"] != "allow-pr-7-seed-to-backup-reader-pr-7"])
    assert not closed.can(seed, reader, 8000)


def test_the_seed_job_restores_every_disk_and_loads_every_database_through_the_reader(preview):
    job = objects(preview)[("Job", "seed")]
    spec = pod_spec(job)
    names = [c["name"] for c in containers(spec)]
    assert names == ["fetch", "load-main", "load-legacy", "load-events", "report"]
    fetch = spec["initContainers"][0]
    assert {m["mountPath"]: m["name"] for m in fetch["volumeMounts"] if m["mountPath"].startswith("/seed/disks")} == {
        "/seed/disks/media": "disk-media", "/seed/disks/exports": "disk-exports"}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"disk-media": "shop-pr-7-disk-media", "disk-exports": "shop-pr-7-disk-exports"}
    env = env_of(fetch)
    assert {env[k]["valueFrom"]["secretKeyRef"]["name"] for k in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD")} == {"seed"}
    load = next(c for c in spec["initContainers"] if c["name"] == "load-main")
    assert load["image"].startswith("postgres:") and "pg_restore" in load["command"][-1]
    assert env_of(load)["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "main-credentials"
    assert next(pod_templates(job))["metadata"]["labels"]["flashdrive.dev/egress"] == "false"


def test_the_seed_reads_through_the_reader_with_the_preview_s_credentials_never_the_base_s_writer(preview):
    secret = next(r for r in preview.resources if r.type == "kubernetes:core/v1:Secret" and r.name == "shop-pr-7-seed")
    assert secret.inputs["stringData"] == "[secret]"
    rendered = render(preview, "yaml")
    assert "writer" not in rendered
    assert "rest:http://reader:" not in rendered  # the URL with its password is secret as a whole


def test_restore_then_releases_then_scrub_then_copies_and_the_seed_and_scrub_run_once(preview):
    kind = {r.urn: f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in preview.resources}
    resources = {kind[r.urn]: r for r in preview.resources if r.custom}

    def after(name: str) -> set[str]:
        return {kind[u] for u in resources[name].options.get("dependsOn") or []}

    assert {"StatefulSet shop-pr-7-db-main", "Deployment shop-pr-7-backup-reader-pr-7",
            "NetworkPolicy shop-pr-7-allow-backup-reader-pr-7",
            "NetworkPolicy shop-pr-7-allow-seed-to-backup-reader-pr-7"} <= after("Job shop-pr-7-seed")
    assert "Job shop-pr-7-seed" in after("Job shop-pr-7-web-release")
    assert {"Job shop-pr-7-seed", "Job shop-pr-7-web-release"} <= after("Job shop-pr-7-web-scrub")
    for deployment in ("Deployment shop-pr-7-web", "Deployment shop-pr-7-worker"):
        assert "Job shop-pr-7-web-scrub" in after(deployment)
    for job in ("Job shop-pr-7-seed", "Job shop-pr-7-web-scrub"):
        assert resources[job].ignore_changes == ("spec",)
    scrub = objects(preview)[("Job", "scrub")]
    (container,) = pod_spec(scrub)["containers"]
    assert container["args"] == ["/bin/sh", "-c", "python manage.py scrub_personal_data"]
    assert container["image"] == "ghcr.io/acme/shop-web:3.1"
    assert "DATABASE_URL" in env_of(container)  # the app's own env: its scrub reaches the preview's database


def test_a_preview_has_no_backups_no_cron_no_custom_domain_and_the_sizes_of_previews(preview):
    found = objects(preview)
    assert not any(kind == "CronJob" for kind, _ in found)
    hosts = [rule["host"] for m in manifests(preview) if m["kind"] == "Ingress" for rule in m["spec"]["rules"]]
    assert hosts == ["web.shop-pr-7.localhost"]
    web = pod_spec(found[("Deployment", "web")])["containers"][0]
    assert web["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}  # previews.size: s
    assert found[("Deployment", "web")]["spec"]["replicas"] == 1


def test_a_preview_without_seed_starts_empty_and_touches_nothing_of_the_base(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    text = PREVIEWED.read_text()
    spec.write_text(text[:text.index("  seed:")] + text[text.index("kubernetes:"):])
    spaces = by_namespace(plan_for(spec, preview=7))
    assert set(spaces) == {PREVIEW_NS}
    assert not any(kind == "Job" and name in ("seed", "scrub") for kind, name in spaces[PREVIEW_NS])


def test_the_base_plan_is_the_same_with_or_without_previews(base, tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    text = PREVIEWED.read_text()
    spec.write_text(text[:text.index("previews:")] + text[text.index("kubernetes:"):])
    without = plan_for(spec)
    assert base.to_json() == without.to_json()
    assert diff_plans(without, base).changed == []


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "mermaid", "yaml"])
def test_every_plan_format_shows_the_namespace_the_seed_and_the_read_only_reader(preview, fmt):
    text = render(preview, fmt)
    assert PREVIEW_NS in text
    assert "backup-reader-pr-7" in text
    assert "seed" in text
    if fmt in ("text", "markdown", "mermaid"):
        assert "NetworkPolicy opens to the seed Job" in text or "NetworkPolicy opens to the seed Job".replace(
            " ", "&nbsp;") in text


@pytest.mark.parametrize("version", VERSIONS)
def test_every_preview_manifest_passes_strict_schema_validation(preview, version):
    documents = [d for d in yaml.safe_load_all(render(preview, "yaml")) if d]
    failures = []
    for document in documents:
        try:
            validate(document, version)
        except Exception as error:  # noqa: BLE001 - every failure, reported together
            failures.append(f"{document['kind']}/{document['metadata']['name']}: {error}")
    assert failures == []


# The fetch script against a stand-in restic that answers from a folder laid out like the snapshot.
FAKE_RESTIC = r"""#!/bin/sh
# restic --no-lock snapshots|ls|restore|dump, answered from $SNAPSHOT (a folder); $REPO_STATE: none|empty|one
[ "$1" = "--no-lock" ] || { echo "restic: the seed must not lock: $*" >&2; exit 99; }
shift
case "$1" in
  snapshots)
    case "$REPO_STATE" in
      none) echo "Fatal: repository does not exist: unable to open config file" >&2; exit 10 ;;
      old) echo "Is there a repository at the following location?" >&2; exit 1 ;;
      empty) echo "[]" ;;
      *) printf '[{"time":"2026-11-26T03:00:00Z","tree":"%s","paths":["/backup"],"hostname":"shop","id":"%s","short_id":"abcdef01"}]\n' \
           "$(printf 'f%.0s' $(seq 64))" "$(printf 'a%.0s' $(seq 64))" ;;
    esac ;;
  ls)
    [ -n "${FAIL_LS:-}" ] && { echo "Fatal: unable to load snapshot: connection refused" >&2; exit 1; }
    echo '{"struct_type":"snapshot","id":"x"}'
    shift 3
    for dir in "$@"; do
      [ -d "$SNAPSHOT$dir" ] || continue
      echo '{"name":"'"${dir##*/}"'","type":"dir","path":"'"$dir"'","struct_type":"node"}'
      for child in "$SNAPSHOT$dir"/*; do
        [ -e "$child" ] && echo '{"name":"x","type":"file","path":"'"$dir/${child##*/}"'","struct_type":"node"}'
      done
    done
    exit 0 ;;
  restore)
    path="${2#*:}"; target="$4"
    cp -a "$SNAPSHOT$path/." "$target/" ;;
  dump)
    cat "$SNAPSHOT$3"
    [ -z "${FAIL_DUMP:-}" ] || { echo "Fatal: connection reset" >&2; exit 1; } ;;
esac
"""


def _run_fetch(tmp_path: Path, state: str, **env: str) -> tuple[subprocess.CompletedProcess, Path]:
    from flashdrive.model import resolve

    model = resolve(*check_spec(PREVIEWED), "kubernetes")
    seed_dir = tmp_path / "seed"
    for disk in model.disks:
        (seed_dir / "disks" / disk.name).mkdir(parents=True)
    snapshot = tmp_path / "snapshot"
    (snapshot / "backup/disks/media/photos").mkdir(parents=True)
    (snapshot / "backup/disks/media/photos/cat.jpg").write_text("meow")
    (snapshot / "backup/databases").mkdir(parents=True)
    (snapshot / "backup/databases/main.pgdump").write_text("PGDMP")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    restic = bin_dir / "restic"
    restic.write_text(FAKE_RESTIC)
    restic.chmod(restic.stat().st_mode | stat.S_IXUSR)
    script = fetch_script(SeedSource("shop", BASE_NS, 7, "backups"), model.disks,
                          list(model.databases.values())).replace(SEED_DIR, str(seed_dir))
    result = subprocess.run(["sh", "-c", script], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                                                       "SNAPSHOT": str(snapshot), "REPO_STATE": state, **env},
                            capture_output=True, text=True)
    return result, seed_dir


def test_the_fetch_restores_what_the_latest_snapshot_holds_and_says_what_starts_empty(tmp_path):
    if shutil.which("sh") is None:
        pytest.skip("no POSIX shell")
    result, seed = _run_fetch(tmp_path, "one")
    assert result.returncode == 0, result.stderr
    assert (seed / "disks/media/photos/cat.jpg").read_text() == "meow"
    assert (seed / "databases/main.pgdump").read_text() == "PGDMP"
    report = (seed / "report").read_text().splitlines()
    assert report == ["from snapshot aaaaaaaa of the base stack", "disk media: restored",
                      "disk exports: not in the snapshot, starts empty",
                      "database legacy: no dump in the snapshot, starts empty",
                      "database events: no dump in the snapshot, starts empty",
                      "database cache (redis): not seeded, starts empty"]


def test_a_listing_that_fails_fails_the_seed_instead_of_starting_empty(tmp_path):
    result, seed = _run_fetch(tmp_path, "one", FAIL_LS="1")
    assert result.returncode == 1
    assert "connection refused" in result.stderr
    assert list((seed / "disks/media").iterdir()) == []


@pytest.mark.parametrize("state", ["none", "empty", "old"])
def test_a_base_without_a_backup_seeds_nothing_and_says_so(tmp_path, state):
    result, seed = _run_fetch(tmp_path, state)
    assert result.returncode == 0, result.stderr
    assert (seed / "report").read_text() == "the base stack 'shop' has no backup yet: the preview starts empty\n"
    assert list((seed / "disks/media").iterdir()) == []
    assert "flashdrive-seed: the base stack 'shop' has no backup yet" in result.stdout


def test_a_fetch_that_fails_after_a_dump_leaves_no_dump_behind(tmp_path):
    result, seed = _run_fetch(tmp_path, "one", FAIL_DUMP="1")
    assert result.returncode == 1
    assert not (seed / "databases").exists()


@pytest.mark.parametrize(("database", "tool", "fails"), [("main", "pg_restore", False), ("main", "pg_restore", True),
                                                         ("legacy", "mysql", True)])
def test_a_load_deletes_the_base_s_dump_whether_it_loaded_or_failed(tmp_path, database, tool, fails):
    from flashdrive.model import resolve

    db = resolve(*check_spec(PREVIEWED), "kubernetes").databases[database]
    seed = tmp_path / "seed"
    (seed / "databases").mkdir(parents=True)
    dump = next(iter(_dump_paths(db, seed)))
    dump.write_bytes(b"rows")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / tool).write_text(f"#!/bin/sh\ncat > {tmp_path / 'loaded'}\nexit {1 if fails else 0}\n")
    (bin_dir / tool).chmod(0o755)
    result = subprocess.run(["sh", "-c", load_command(db).replace(SEED_DIR, str(seed))], capture_output=True,
                            text=True, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DB_PASSWORD": "x",
                                            "PGPASSWORD": "x", "MYSQL_PWD": "x"})
    assert (result.returncode != 0) == fails, result.stderr
    assert (tmp_path / "loaded").read_bytes() == b"rows"
    assert list((seed / "databases").iterdir()) == []


def _dump_paths(db, seed: Path):
    from flashdrive.engines import ENGINES

    yield seed / "databases" / f"{db.name}.{ENGINES[db.engine].job_dump.extension}"


def test_the_seed_job_and_its_pod_go_after_it_finished_and_its_report_clears_the_dumps(preview):
    job = objects(preview)[("Job", "seed")]
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    report = next(c for c in pod_spec(job)["containers"] if c["name"] == "report")
    assert report["command"][-1].startswith("rm -rf /seed/databases;")


@pytest.mark.parametrize("database", ["main", "legacy", "events"])
def test_a_load_without_a_dump_does_nothing(database):
    from flashdrive.model import resolve

    db = resolve(*check_spec(PREVIEWED), "kubernetes").databases[database]
    result = subprocess.run(["sh", "-c", load_command(db).replace(SEED_DIR, "/nonexistent-seed")],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_cron_runs_in_a_preview_only_when_previews_cron_says_so(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(PREVIEWED.read_text().replace("  size: s\n", "  size: s\n  cron: true\n"))
    cron_jobs = [name for kind, name in objects(plan_for(spec, preview=7)) if kind == "CronJob"]
    assert cron_jobs == ["worker-nightly-report"]
