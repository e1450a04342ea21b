"""Valid specs: the SPEC.md example, documented defaults, env typing, references, merge keys,
overlays and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashdrive.spec import load_spec
from flashdrive.spec.env import env_vars
from flashdrive.spec.contract import ConfigValue, Domain, GeneratedValue, S3Target, ScopedValue, VolumeTarget
from flashdrive.spec.references import Reference, parse_template
from flashdrive.spec.sizes import SIZES

SPEC_MD = Path(__file__).resolve().parent / "valid" / "spec-md"


def load(write, text: str, overlay: str | None = None):
    spec = write("flashdrive.yaml", text)
    over = write("overlay.yaml", overlay) if overlay is not None else None
    return load_spec(spec, over)


# --- the SPEC.md example -------------------------------------------------------------------

def test_spec_md_example_loads_as_documented():
    loaded = load_spec(SPEC_MD / "flashdrive.yaml", SPEC_MD / "search.yaml")
    spec = loaded.spec
    assert (spec.version, spec.stack, spec.backend) == (1, "shop", "docker")
    assert spec.images.mirror == "registry.example.com/hub"
    assert spec.images.postgres == "registry.example.com/pg:{version}"
    assert spec.build.ca_bundle == "./certs/corp-ca.pem"
    assert spec.build.pip_index_url == "https://pypi.example.com/simple"
    assert (spec.tls.email, spec.tls.default_domain) == ("ops@example.com", "localhost")

    web = spec.apps["web"]
    assert (web.source, web.image, web.type, web.process, web.port, web.size, web.nodes, web.egress) == (
        "./app", None, "web", "web", 8000, "s", 2, True)
    assert web.health.path == "/healthz"
    assert web.release == "python manage.py migrate --noinput"
    assert web.env["DJANGO_SETTINGS_MODULE"] == "shop.settings"
    assert web.env["SECRET_KEY"] == GeneratedValue(generate="secret", length=50)
    assert web.env["API_TOKEN"] == ConfigValue(config="apiToken")
    assert web.env["SENTRY_ENV"] == ScopedValue(value="production", scope="run")
    [disk] = web.disks
    assert (disk.name, disk.mount, disk.size_gb, disk.access) == ("media", "/app/media", 5, "read_write")
    assert web.domain_entries == [
        Domain(host="shop.example.com"),
        Domain(host="admin.example.com", certificate=ConfigValue(config="adminCertPem"),
               key=ConfigValue(config="adminKeyPem"))]

    main, cache = spec.databases["main"], spec.databases["cache"]
    assert (main.engine, main.engine_version, main.size, main.data_gb, main.port) == ("postgres", "16", "s", 10, 5432)
    assert (cache.engine, cache.engine_version, cache.port) == ("redis", "7.4", 6379)
    assert spec.backups.enabled and spec.backups.schedule == "0 3 * * *" and spec.backups.keep_days == 10
    assert spec.backups.target == VolumeTarget(volume="backups")
    k8s = spec.kubernetes
    assert (k8s.namespace, k8s.storage_class, k8s.ingress_class, k8s.cluster_issuer) == (
        "shop", "standard-rwx", "nginx", "letsencrypt")
    assert loaded.source_dir("web") == SPEC_MD / "app"


def test_spec_md_example_validates_with_one_warning(cli):
    """Needs flashdrive.buildpack: `web` is built from ./app."""
    spec, overlay = SPEC_MD / "flashdrive.yaml", SPEC_MD / "search.yaml"
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 0, run.err
    assert run.error_lines == []
    assert run.warning_lines == [
        f"{spec}:36:12: warning: apps.web.nodes: 2 copies share the read_write disk 'media': fine for reads, "
        "risky when copies write the same file at the same time"]
    assert run.out == f"{spec} + {overlay}: ok — stack 'shop', 2 apps, 2 databases, backend docker\n"


def test_spec_md_example_alone_refers_to_an_app_it_does_not_define(cli):
    """SPEC.md's example uses ${apps.search.*} but defines no app `search` (a doc slip the rules catch).
    Needs flashdrive.buildpack: `web` is built from ./app."""
    spec = SPEC_MD / "flashdrive.yaml"
    run = cli("validate", spec)
    assert run.code == 1
    assert [line.split(": error: ")[1] for line in run.error_lines] == [
        "apps.web.env.SEARCH_URL: ${apps.search.host} refers to app 'search', which is not in this stack (apps: web)",
        "apps.web.env.SEARCH_URL: ${apps.search.port} refers to app 'search', which is not in this stack (apps: web)"]
    assert all(line.startswith(f"{spec}:51:") for line in run.error_lines)


# --- defaults --------------------------------------------------------------------------------

MINIMAL = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
databases:
  main:
    engine: postgres
"""


def test_defaults_are_the_documented_ones(write):
    spec = load(write, MINIMAL).spec
    web = spec.apps["web"]
    assert (web.type, web.size, web.nodes, web.egress, web.listen_port, web.process_name) == ("web", "s", 1, True, 8000, "web")
    assert web.release is None and web.env == {} and web.disks == [] and web.domains == []
    health = web.health
    assert (health.path, health.interval_s, health.timeout_s, health.retries, health.start_period_s) == ("/", 10, 5, 3, 30)
    assert (spec.backend, spec.tls.default_domain, spec.tls.email) == ("docker", "localhost", None)
    backups = spec.backups
    assert (backups.enabled, backups.schedule, backups.keep_days, backups.target) == (
        True, "0 3 * * *", 10, VolumeTarget(volume="backups"))
    assert spec.kubernetes.namespace is None and spec.kubernetes.ingress_class == "nginx"


def test_a_worker_has_no_port_and_no_health_check_and_runs_the_worker_process(write):
    jobs = load(write, MINIMAL).spec.apps["jobs"]
    assert (jobs.listen_port, jobs.health, jobs.process_name) == (None, None, "worker")


def test_a_database_disk_defaults_to_the_free_space_of_its_size(write):
    spec = load(write, MINIMAL + """\
  big:
    engine: mysql
    size: l
  fixed:
    engine: mongodb
    disk_gb: 3
""").spec
    databases = spec.databases
    assert databases["main"].data_gb == SIZES["s"].disk_gb == 5
    assert databases["big"].data_gb == SIZES["l"].disk_gb == 25
    assert databases["fixed"].data_gb == 3
    assert {name: db.engine_version for name, db in databases.items()} == {"main": "17", "big": "8.4", "fixed": "8.0"}


def test_the_sizes_table_matches_spec_md():
    assert {s.name: (s.cpus, s.memory_mib, s.disk_gb) for s in SIZES.values()} == {
        "xs": (0.25, 256, 1), "s": (0.5, 512, 5), "m": (1, 1024, 10), "l": (2, 2048, 25), "xl": (4, 4096, 50)}


def test_the_minimal_spec_validates_on_the_command_line(cli, write):
    spec = write("flashdrive.yaml", MINIMAL)
    run = cli("validate", spec)
    assert (run.code, run.err) == (0, "")
    assert run.out == f"{spec}: ok — stack 'shop', 2 apps, 1 database, backend docker\n"


# --- values are typed as written ------------------------------------------------------------

def test_env_values_are_text_as_written(write):
    env = load(write, """\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            env:
              MODE: 0755
              DEBUG: false
              FEATURE: yes
              RATIO: 1.50
              HEX: 0x1F
              BIG: 1_000
              EXP: 1e3
              EMPTY: ""
              QUOTED: "0755"
              SCOPED: {value: 0755, scope: run}
              SCOPED_BOOL: {value: off}
        """).spec.apps["web"].env
    assert {k: v for k, v in env.items() if isinstance(v, str)} == {
        "MODE": "0755", "DEBUG": "false", "FEATURE": "yes", "RATIO": "1.50", "HEX": "0x1F", "BIG": "1_000",
        "EXP": "1e3", "EMPTY": "", "QUOTED": "0755"}
    assert env["SCOPED"] == ScopedValue(value="0755", scope="run")
    assert env["SCOPED_BOOL"] == ScopedValue(value="off", scope="both")


def test_date_like_env_values_are_text_as_written(write):
    env = load(write, """\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            env:
              RELEASED: 2024-05-01
        """).spec.apps["web"].env
    assert env["RELEASED"] == "2024-05-01"


@pytest.mark.parametrize(("written", "version"), [("16", "16"), ("10.10", "10.10"), ("8.4", "8.4"), ('"16"', "16"),
                                                  ("'10.10'", "10.10"), ("7.4.1", "7.4.1")])
def test_database_versions_are_text_as_written(write, cli, written, version):
    text = f"version: 1\nstack: shop\ndatabases:\n  main:\n    engine: postgres\n    version: {written}\n"
    assert load(write, text).spec.databases["main"].version == version
    assert cli("validate", write("flashdrive.yaml", text)).code == 0


# --- references -------------------------------------------------------------------------------

REFS = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env:
      DATABASE_URL: ${databases.main.url}
      DB_PASSWORD: "${databases.main.password}"
      DB_HOST: ${databases.main.host}
      DSN: "postgres://${databases.main.user}:${databases.main.password}@${databases.main.host}/x"
      SEARCH_URL: http://${apps.search.host}:${apps.search.port}/
      STACK: ${stack.name}
      SECRET_KEY: {generate: secret, length: 50}
      API_TOKEN: {config: apiToken}
      SENTRY_ENV: {value: production, scope: run}
      BUILD_ONLY: {value: "${apps.search.url}", scope: build}
      RUN_URL: {value: "${databases.main.url}", scope: run}
      LITERAL: "cost $${not.a.ref} and ${stack.name}"
  search:
    image: docker.io/library/elasticsearch:8.15.0
    port: 9200
databases:
  main: {engine: postgres}
"""


@pytest.fixture
def env(write):
    return {var.name: var for var in env_vars(load(write, REFS).spec.apps["web"])}


def test_secret_references_are_run_only(env):
    for name in ("DATABASE_URL", "DB_PASSWORD", "DSN", "RUN_URL"):
        var = env[name]
        assert (var.kind, var.secret, var.scope, var.at_build, var.at_run) == ("template", True, "run", False, True), name
    assert env["DATABASE_URL"].segments == (Reference("databases", "main", "url", 0),)


def test_a_value_holding_one_secret_is_secret_as_a_whole(env):
    dsn = env["DSN"]
    assert dsn.secret
    assert dsn.segments == (
        "postgres://", Reference("databases", "main", "user", 11), ":",
        Reference("databases", "main", "password", 34), "@", Reference("databases", "main", "host", 61), "/x")


def test_plain_references_are_set_at_build_and_run_and_not_secret(env):
    search = env["SEARCH_URL"]
    assert (search.secret, search.scope, search.at_build, search.at_run) == (False, "both", True, True)
    assert search.segments == ("http://", Reference("apps", "search", "host", 7), ":",
                               Reference("apps", "search", "port", 27), "/")
    host = env["DB_HOST"]
    assert (host.secret, host.scope) == (False, "both")
    assert env["STACK"].references == (Reference("stack", "", "name", 0),)


def test_generated_and_config_values_are_secret_and_run_only(env):
    key, token = env["SECRET_KEY"], env["API_TOKEN"]
    assert (key.kind, key.secret, key.scope, key.length) == ("generate", True, "run", 50)
    assert (token.kind, token.secret, token.scope, token.config_key) == ("config", True, "run", "apiToken")


def test_an_explicit_scope_is_kept(env):
    assert (env["SENTRY_ENV"].scope, env["SENTRY_ENV"].at_build, env["SENTRY_ENV"].secret) == ("run", False, False)
    build = env["BUILD_ONLY"]
    assert (build.scope, build.at_build, build.at_run, build.secret) == ("build", True, False, False)


def test_double_dollar_writes_a_literal_reference(env):
    assert env["LITERAL"].segments == ("cost ${not.a.ref} and ", Reference("stack", "", "name", 23))
    assert parse_template("$${a}$$ $") == (["${a}$$ $"], [])


def test_the_reference_spec_validates_with_only_the_build_scope_warning(cli, write):
    spec = write("flashdrive.yaml", REFS)
    run = cli("validate", spec)
    assert run.code == 0, run.err
    assert run.warning_lines == [
        f"{spec}:16:56: warning: apps.web.env.BUILD_ONLY.scope: scope build has no effect on an app run from a prebuilt image"]


# --- YAML features -----------------------------------------------------------------------------

def test_merge_keys_copy_a_mapping_and_explicit_keys_win(write):
    spec = load(write, """\
        version: 1
        stack: shop
        apps:
          web: &app
            image: ghcr.io/acme/shop:1.4
            size: m
            env: {DJANGO_SETTINGS_MODULE: shop.settings}
          jobs:
            <<: *app
            type: worker
            size: xs
          api:
            <<: [{nodes: 3, size: l}, *app]
        """).spec
    jobs, api = spec.apps["jobs"], spec.apps["api"]
    assert (jobs.image, jobs.type, jobs.size, jobs.env) == ("ghcr.io/acme/shop:1.4", "worker", "xs",
                                                            {"DJANGO_SETTINGS_MODULE": "shop.settings"})
    assert (api.image, api.nodes, api.size) == ("ghcr.io/acme/shop:1.4", 3, "l")


def test_errors_in_merged_values_point_at_where_they_were_written(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          web: &app
            image: ghcr.io/acme/shop:1.4
            nodez: 2
          jobs:
            <<: *app
            type: worker
        """)
    run = cli("validate", spec)
    assert run.code == 1
    assert [line.split(": error:")[0] for line in run.error_lines] == [f"{spec}:6:5", f"{spec}:6:5"]
    assert {line.split(": ")[2] for line in run.error_lines} == {"apps.web.nodez", "apps.jobs.nodez"}


@pytest.mark.parametrize("text", [
    "---\nversion: 1\nstack: shop\ndatabases: {main: {engine: redis}}\n",
    "version: 1\nstack: shop\ndatabases: {main: {engine: redis}}\n...\n",
    "\ufeffversion: 1\nstack: shop\ndatabases: {main: {engine: redis}}\n",
    "version: 1\r\nstack: shop\r\ndatabases:\r\n  main: {engine: redis}\r\n",
    '{"version": 1, "stack": "shop", "databases": {"main": {"engine": "redis"}}}\n',
], ids=["document-start", "document-end", "bom", "crlf", "json"])
def test_ordinary_yaml_variants_are_accepted(cli, write, text):
    spec = write("flashdrive.yaml", text.encode())
    run = cli("validate", spec)
    assert (run.code, run.err) == (0, "")


def test_positions_are_right_with_crlf_line_endings(cli, write):
    spec = write("flashdrive.yaml", b"version: 1\r\nstack: shop\r\napps:\r\n  web:\r\n    image: x\r\n    nodez: 2\r\n")
    run = cli("validate", spec)
    assert run.error_lines == [f"{spec}:6:5: error: apps.web.nodez: unknown key 'nodez'"]


# --- overlays ----------------------------------------------------------------------------------

BASE = """\
version: 1
stack: shop
tls: {email: ops@example.com}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    nodes: 2
    env:
      A: base-a
      B: base-b
    domains: [shop.example.com, www.shop.example.com]
    disks:
      - {name: media, mount: /app/media, size_gb: 2, access: read_only}
databases:
  main: {engine: postgres, version: "16"}
backups:
  target: {s3: {endpoint: "https://s3.example.com", bucket: b, access_key: {config: a}, secret_key: {config: s},
                prune: {access_key: {config: pa}, secret_key: {config: ps}}}}
"""
OVERLAY = """\
stack: shop-staging
apps:
  web:
    nodes: 1
    env:
      B: staging-b
      C: staging-c
    domains: [staging.shop.example.com]
  search:
    image: docker.io/library/elasticsearch:8.15.0
databases:
  main: {size: m}
"""


def test_overlays_merge_maps_by_key_and_replace_lists_and_scalars(write):
    spec = load(write, BASE, OVERLAY).spec
    web = spec.apps["web"]
    assert spec.stack == "shop-staging"
    assert web.nodes == 1
    assert web.env == {"A": "base-a", "B": "staging-b", "C": "staging-c"}
    assert web.domains == ["staging.shop.example.com"]
    assert [d.name for d in web.disks] == ["media"]
    assert set(spec.apps) == {"web", "search"}
    assert (spec.databases["main"].engine, spec.databases["main"].version, spec.databases["main"].size) == (
        "postgres", "16", "m")
    assert spec.tls.email == "ops@example.com"


def test_an_overlay_mapping_is_merged_into_the_base_mapping_by_key(cli, write):
    """`target: {volume: ...}` over `target: {s3: ...}` merges into {s3, volume}, which is refused."""
    spec = write("flashdrive.yaml", BASE)
    overlay = write("staging.yaml", "backups:\n  target: {volume: staging-backups}\n")
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    assert [line.split(": error: ")[1].split(":")[0] for line in run.error_lines] == ["backups.target.s3"]


def test_an_overlay_validates_on_the_command_line(cli, write):
    spec = write("flashdrive.yaml", BASE)
    overlay = write("staging.yaml", OVERLAY)
    run = cli("validate", spec, "--overlay", overlay)
    assert (run.code, run.err) == (0, ""), run.err
    assert run.out == f"{spec} + {overlay}: ok — stack 'shop-staging', 2 apps, 1 database, backend docker\n"


def test_the_django_shop_example_and_its_staging_overlay_load():
    example = Path(__file__).resolve().parents[2] / "examples" / "django-shop"
    spec = load_spec(example / "flashdrive.yaml", example / "flashdrive.staging.yaml").spec
    assert spec.stack == "shop-staging"
    assert spec.apps["web"].nodes == 1
    assert spec.apps["web"].domains == ["staging.shop.example.com"]
    assert spec.apps["web"].env["DATABASE_URL"] == "${databases.main.url}"


# --- warnings ------------------------------------------------------------------------------------

def test_nodes_above_one_with_a_read_write_disk_warns_at_nodes(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            nodes: 3
            disks:
              - {name: media, mount: /app/media, size_gb: 1}
              - {name: assets, mount: /app/assets, size_gb: 1, access: read_only}
        """)
    run = cli("validate", spec)
    assert run.code == 0
    assert run.err.splitlines() == [
        f"{spec}:6:12: warning: apps.web.nodes: 3 copies share the read_write disk 'media': fine for reads, "
        "risky when copies write the same file at the same time",
        "    a bigger size is the safer way to scale an app that writes to its disk"]
    assert run.out.endswith("ok — stack 'shop', 1 app, 0 databases, backend docker\n")


@pytest.mark.parametrize(("nodes", "access"), [(1, "read_write"), (3, "read_only")])
def test_no_warning_for_one_copy_or_a_read_only_disk(cli, write, nodes, access):
    spec = write("flashdrive.yaml", f"""\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            nodes: {nodes}
            disks: [{{name: media, mount: /app/media, size_gb: 1, access: {access}}}]
        """)
    run = cli("validate", spec)
    assert (run.code, run.err) == (0, "")


def test_overriding_a_provided_env_var_warns_at_its_name(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            env:
              PORT: "9000"
              FLASHDRIVE_HOSTS: shop.example.com
        """)
    run = cli("validate", spec)
    assert run.code == 0
    assert run.err.splitlines() == [
        f"{spec}:7:7: warning: apps.web.env.PORT: PORT is set by flashdrive on every copy; your value wins",
        "    remove it unless you mean to override it",
        f"{spec}:8:7: warning: apps.web.env.FLASHDRIVE_HOSTS: FLASHDRIVE_HOSTS is set by flashdrive on every copy; "
        "your value wins",
        "    remove it unless you mean to override it"]


def test_a_worker_may_set_port_without_a_warning(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          jobs:
            image: ghcr.io/acme/jobs:1.4
            type: worker
            env:
              PORT: "9000"
        """)
    run = cli("validate", spec)
    assert (run.code, run.err) == (0, "")


def test_an_empty_stack_validates_with_a_warning(cli, write):
    spec = write("flashdrive.yaml", "version: 1\nstack: shop\n")
    run = cli("validate", spec)
    assert run.code == 0
    assert run.warning_lines == [f"{spec}:1:1: warning: the stack has no apps and no databases: nothing will run"]


# --- other edge cases that are valid --------------------------------------------------------------

def test_valid_edge_cases(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: abcdefghij-abcdefghij-abcdefgh
        apps:
          abcdefghij-abcdefghij-abcdefghij-abcdefg:
            image: ghcr.io/acme/web:1.4
            port: 65535
            nodes: 20
            size: xl
            egress: false
            release: false
            health_check: {path: /healthz, interval_s: 5, timeout_s: 2, retries: 1, start_period_s: 0}
            disks:
              - {name: lake, mount: /data/lake, size_gb: 50, access: read_only}
            domains:
              - host: admin.example.com
                certificate: {config: adminCertPem}
                key: {config: adminKeyPem}
            env:
              SECRET_KEY: {generate: secret, length: 256}
              _PRIVATE: ok
        databases:
          db-1: {engine: mysql, size: xs, disk_gb: 10000}
        backups:
          schedule: "*/15 1-5 1,15 jan-jun mon-fri"
          keep_days: 3650
          target: {rest: {url: "https://backup.example.com/shop", password: {config: restPw},
                         prune: {url: "https://backup-admin.example.com/shop", password: {config: restPrunePw}}}}
        """)
    run = cli("validate", spec)
    assert (run.code, run.err) == (0, ""), run.err


@pytest.mark.parametrize("schedule", ["@daily", "@hourly", "0 3 * * *", "0 0 * * 0", "0 0 * * 7", "5,35 */2 * * sun"])
def test_cron_schedules_that_are_accepted(cli, write, schedule):
    spec = write("flashdrive.yaml", f'version: 1\nstack: shop\nbackups: {{schedule: "{schedule}"}}\n'
                                    "databases: {main: {engine: redis}}\n")
    assert cli("validate", spec).code == 0


def test_an_s3_backup_target_is_accepted(write):
    target = load(write, BASE).spec.backups.target
    assert isinstance(target, S3Target) and target.s3.endpoint == "https://s3.example.com"


def test_a_plain_value_named_like_a_secret_that_reaches_the_build_warns_with_the_fix(cli, write):
    write("app/Procfile", "web: gunicorn shop.wsgi\n")
    write("app/requirements.txt", "gunicorn==22.0.0\n")
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          web:
            source: ./app
            env:
              SECRET_KEY: not-so-secret
              DATABASE_URL: postgres://shop:hunter2@db.example.com/shop
              githubToken: {value: abc, scope: build}
              API_KEY: {value: abc, scope: run}
              STRIPE_SECRET: {config: stripeSecret}
              DEBUG_TOOLBAR: "false"
          api:
            image: ghcr.io/acme/api:1.4
            env:
              SECRET_KEY: image-apps-have-no-build
        """)
    run = cli("validate", spec)
    assert run.code == 0, run.err
    warned = [line.split(": warning: ")[1].split(":")[0] for line in run.warning_lines]
    assert warned == ["apps.web.env.SECRET_KEY", "apps.web.env.DATABASE_URL", "apps.web.env.githubToken"]
    assert f"{spec}:7:7: warning: apps.web.env.SECRET_KEY: SECRET_KEY looks like a secret" in run.err
    assert "`SECRET_KEY: {config: secretKey}` and `pulumi config set --secret secretKey ...`" in run.err
