"""The operations' command line: kubectl on a kubernetes stack, one-line errors, the stack's name."""

from __future__ import annotations

import pytest

KUBERNETES_SPEC = """\
version: 1
stack: shop
backend: kubernetes
kubernetes:
  namespace: shop-prod
apps:
  web:
    image: nginx:1.27
    type: web
    port: 8080
"""


@pytest.fixture
def kubernetes_folder(tmp_path, monkeypatch):
    (tmp_path / "flashdrive.yaml").write_text(KUBERNETES_SPEC)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # any engine call would fail loudly
    return tmp_path


def test_ps_on_a_kubernetes_stack_prints_the_kubectl_command(cli, kubernetes_folder):
    run = cli("ps")
    assert run.code == 0
    assert run.out.strip() == ("kubectl get pods,jobs,cronjobs,statefulsets,deployments --namespace shop-prod "
                               "-l app.kubernetes.io/part-of=shop -o wide")


def test_ps_of_a_preview_on_kubernetes_looks_in_the_preview_s_own_namespace(cli, kubernetes_folder):
    run = cli("ps", "--deployed", "shop-pr-12")
    assert run.code == 0
    assert run.out.strip() == ("kubectl get pods,jobs,cronjobs,statefulsets,deployments --namespace shop-prod-pr-12 "
                               "-l app.kubernetes.io/part-of=shop-pr-12 -o wide")


def test_logs_on_a_kubernetes_stack_selects_the_app_by_its_labels(cli, kubernetes_folder):
    run = cli("logs", "web", "-f", "--since", "10m", "--tail", "50")
    assert run.out.strip() == ("kubectl logs --namespace shop-prod -l "
                               "app.kubernetes.io/part-of=shop,app.kubernetes.io/name=web --prefix --timestamps "
                               "--max-log-requests 20 --follow --since 10m --tail 50")


def test_exec_run_and_restart_on_a_kubernetes_stack_name_the_container_and_namespace(cli, kubernetes_folder):
    exec_ = cli("exec", "web.2", "--", "python", "manage.py", "shell", "-c", "print(1)").out
    assert exec_.startswith("kubectl exec -it --namespace shop-prod $(kubectl get pods --namespace shop-prod "
                            "-l app.kubernetes.io/part-of=shop,app.kubernetes.io/name=web,"
                            "app.kubernetes.io/component!=release --field-selector status.phase=Running -o name "
                            "| sed -n 2p) --container web -- python manage.py shell -c 'print(1)'")
    run = cli("run", "web", "--", "python", "manage.py", "createsuperuser").out
    assert "kubectl debug --namespace shop-prod" in run and "--copy-to web-run --container web" in run
    assert run.strip().endswith("kubectl delete pod --namespace shop-prod web-run --wait=false")
    restart = cli("restart", "web").out.strip()
    assert restart == ("kubectl rollout restart deployment/web --namespace shop-prod && "
                       "kubectl rollout status deployment/web --namespace shop-prod")


def test_an_engine_that_does_not_answer_says_how_to_reach_one(cli, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    run = cli("ps", "--deployed", "shop")
    assert run.code == 1
    assert len(run.err.strip().splitlines()) == 1
    assert run.err.startswith("flashdrive ps: error: no Docker engine answers at tcp://127.0.0.1:9 (connection refused)")
    assert "DOCKER_HOST" in run.err


def test_without_a_spec_or_stack_the_operations_say_to_name_one(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("logs")
    assert run.code == 1
    assert "flashdrive.yaml" in run.err and "--deployed NAME" in run.err


def test_options_before_the_double_dash_are_the_operations_own(cli, kubernetes_folder):
    run = cli("exec", "web", "--deployed", "shop", "--", "ls", "--stack")
    assert run.out.strip().endswith("--container web -- ls --stack")
    assert cli("run", "web", "--deployed").code == 2


@pytest.mark.parametrize("argv", [("ps", "--stack", "shop"), ("exec", "web", "--stack", "shop", "--", "ls")],
                         ids=" ".join)
def test_the_old_stack_spelling_still_names_the_deployed_stack_with_a_note(cli, kubernetes_folder, argv):
    old = cli(*argv)
    new = cli(*["--deployed" if word == "--stack" else word for word in argv])
    assert old.code == new.code == 0
    assert old.out == new.out
    note, *rest = old.err.splitlines()
    assert note.startswith(f"note: `flashdrive {argv[0]} --stack` is now `--deployed`")
    assert rest == new.err.splitlines()
