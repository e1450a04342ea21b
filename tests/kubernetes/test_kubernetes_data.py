"""Disks and databases on a cluster: claims named from the stack and the disk or database (never
an app), kept when anything else goes."""

from __future__ import annotations

from _k8s_helpers import MARKET, objects, plan_for, pod_templates
from flashdrive.plan.manifests import manifests
from flashdrive.plan.wire_values import SECRET

CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


def test_a_disk_is_a_retained_claim_named_from_the_stack_and_the_disk(market):
    for disk, size in (("uploads", "5G"), ("reports", "1G")):
        claim = market.get(f"market-disk-{disk}", CLAIM)
        assert claim.retain_on_delete
        assert claim.inputs["metadata"]["name"] == f"market-disk-{disk}"
        assert claim.inputs["spec"]["resources"] == {"requests": {"storage": size}}
        assert claim.inputs["spec"]["storageClassName"] == "efs"


def test_a_disk_shared_by_several_copies_is_read_write_many_and_one_of_a_single_copy_read_write_once(market):
    assert market.get("market-disk-uploads", CLAIM).inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert market.get("market-disk-reports", CLAIM).inputs["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_every_pod_that_mounts_a_read_write_once_disk_runs_on_the_node_of_its_app(market):
    pinned = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "cron"}},
         "topologyKey": "kubernetes.io/hostname"}]}
    found = objects(market)
    assert found[("Deployment", "cron")]["spec"]["template"]["spec"]["affinity"] == {"podAffinity": pinned}
    backup = next(pod_templates(found[("CronJob", "backup")]))
    assert backup["spec"]["affinity"] == {"podAffinity": pinned}
    # The shared (ReadWriteMany) disk attaches anywhere: its app's copies spread freely.
    assert "affinity" not in found[("Deployment", "api")]["spec"]["template"]["spec"]


def test_renaming_an_app_keeps_its_disk(tmp_path):
    def claim_urn(app_name: str) -> str:
        spec = tmp_path / f"{app_name}.yaml"
        spec.write_text(f"version: 1\nstack: shop\nbackend: kubernetes\napps:\n  {app_name}:\n    image: nginx:1\n"
                        "    disks: [{name: media, mount: /media, size_gb: 1}]\n")
        return plan_for(spec).get("shop-disk-media", CLAIM).urn

    assert claim_urn("web") == claim_urn("site")


def test_a_database_is_a_stateful_set_of_one_with_a_headless_service_and_a_retained_claim(market):
    found = objects(market)
    stateful_set = found[("StatefulSet", "market-db-orders")]["spec"]
    assert stateful_set["replicas"] == 1
    assert stateful_set["serviceName"] == "orders"
    # No volumeClaimTemplates: a template cannot change, so a larger disk_gb would never reach the volume.
    assert "volumeClaimTemplates" not in stateful_set
    pod = stateful_set["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "market-db-orders"}} in pod["volumes"]
    claim = market.get("market-db-orders", CLAIM)
    assert claim.retain_on_delete
    # The claim is named from the stack and the database, never an app, as the Docker volume is.
    assert claim.inputs["metadata"]["name"] == "market-db-orders"
    assert claim.inputs["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20G"}}}
    service = found[("Service", "orders")]["spec"]
    assert service["clusterIP"] == "None"
    assert service["ports"] == [{"name": "mysql", "port": 3306, "targetPort": 3306, "protocol": "TCP"}]
    container = pod["containers"][0]
    assert container["image"] == "mysql:8.4"
    assert container["resources"]["limits"] == {"cpu": "1000m", "memory": "1024Mi"}
    assert stateful_set["template"]["metadata"]["labels"]["flashdrive.dev/egress"] == "false"


def test_database_credentials_are_generated_into_a_secret_the_database_reads(market):
    found = objects(market)
    assert found[("Secret", "orders-credentials")]["stringData"] == {"password": SECRET, "root-password": SECRET}
    env = {item["name"]: item for item in
           found[("StatefulSet", "market-db-orders")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MYSQL_USER"]["value"] == "orders"
    assert env["MYSQL_ROOT_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "orders-credentials", "key": "root-password"}}
    assert env["MYSQL_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "orders-credentials", "key": "password"}}


def test_databases_write_below_the_root_of_their_volume(shop, market):
    # A fresh volume may hold lost+found, which initdb and mysqld --initialize refuse.
    postgres = objects(shop)[("StatefulSet", "shop-db-main")]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"} in postgres["env"]
    assert postgres["volumeMounts"][0] == {"name": "data", "mountPath": "/var/lib/postgresql/data"}
    mysql = objects(market)[("StatefulSet", "market-db-orders")]["spec"]["template"]["spec"]["containers"][0]
    assert mysql["args"][0] == "--datadir=/var/lib/mysql/data"


def test_postgres_and_mysql_serve_tls_from_a_group_readable_secret(shop, market):
    for plan, name, args in ((shop, "main", ["postgres", "-c", "ssl=on"]), (market, "orders", ["--datadir=/var/lib/mysql/data"])):
        pod = objects(plan)[("StatefulSet", f"{plan is shop and 'shop' or 'market'}-db-{name}")]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["args"][:len(args)] == args
        assert any("/etc/flashdrive/tls/server.key" in arg for arg in container["args"])
        assert {"name": "tls", "mountPath": "/etc/flashdrive/tls", "readOnly": True} in container["volumeMounts"]
        secret = next(v["secret"] for v in pod["volumes"] if v["name"] == "tls")
        # root-owned, group (fsGroup) readable: the only way Postgres accepts a key it does not own
        assert secret == {"secretName": f"{name}-tls", "defaultMode": 0o440}


def test_databases_keep_the_ownership_of_their_data_directory(shop):
    for manifest in manifests(shop):
        if manifest["kind"] == "StatefulSet":
            context = manifest["spec"]["template"]["spec"]["securityContext"]
            assert context["fsGroupChangePolicy"] == "OnRootMismatch"
            assert context["runAsUser"] == context["fsGroup"] == 999


def test_databases_have_the_same_outputs_as_on_docker(market):
    docker = plan_for(MARKET, backend="docker")
    for name in ("orders", "catalog"):
        on_docker = docker.get(f"market-{name}", "flashdrive:docker:Database").outputs
        on_kubernetes = market.get(f"market-{name}", "flashdrive:kubernetes:Database").outputs
        assert on_kubernetes == on_docker
        assert on_kubernetes["password"] == on_kubernetes["url"] == SECRET
        assert on_kubernetes["host"] == name

