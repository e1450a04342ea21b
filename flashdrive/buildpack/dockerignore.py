"""The build context's .dockerignore: the app's own when it has one, else flashdrive's default."""

from __future__ import annotations

from pathlib import Path

from flashdrive.buildpack.build_context import BadPattern, IgnoreRules
from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import read_text

# Local state that must not reach the image: VCS data, virtualenvs and caches (they would shadow or
# bloat the installed packages), and .env files (secrets). `.flashdrive/` is deliberately kept: the
# backend puts build inputs such as the CA bundle there.
_DEFAULT_DOCKERIGNORE = """\
# Written by flashdrive: what stays out of the image build.
.git
.hg
.svn
.venv
venv
**/__pycache__
**/*.py[cod]
*.egg-info
.env
.env.*
.envrc
node_modules
.mypy_cache
.pytest_cache
.ruff_cache
.tox
.nox
.coverage
htmlcov
.idea
.vscode
.DS_Store
# Secrets: keys, credentials and deploy state never belong in an image, where anyone who can pull
# it reads them. Certificates (*.pem, *.crt) are public and often needed at run time: only files
# named like private keys are left out.
**/id_rsa*
**/id_dsa*
**/id_ecdsa*
**/id_ed25519*
**/.ssh
**/.gnupg
**/.aws
**/.azure
**/.config/gcloud
**/.kube
**/.docker/config.json
**/.npmrc
**/.pypirc
**/.netrc
**/.git-credentials
**/.pgpass
**/.my.cnf
**/.htpasswd
**/*.key
**/*.p12
**/*.pfx
**/*.jks
**/*.keystore
**/privkey*.pem
**/*key.pem
**/Pulumi.*.yaml
**/.pulumi
.flashdrive/state
**/*.tfstate
**/*.tfstate.*
**/.terraform
**/*.tfvars
**/credentials.json
**/service-account*.json
!.flashdrive/ca.pem
"""


def default_dockerignore() -> str:
    return _DEFAULT_DOCKERIGNORE


def dockerignore_patterns(app_dir: Path) -> tuple[list[str], bool]:
    """The patterns in force and whether they are the app's own (True) or flashdrive's default.
    A pattern Docker would refuse is a BuildpackError at its line."""
    path = app_dir / ".dockerignore"
    own = path.is_file()
    text = read_text(path) if own else _DEFAULT_DOCKERIGNORE
    try:
        IgnoreRules.parse(text, where=str(path))
    except BadPattern as exc:
        raise BuildpackError(
            f".dockerignore line {exc.line}: {exc.reason}; Docker refuses the build with 'syntax error in pattern'",
            hint="fix or remove that line (a literal '[' is written '\\[')",
            file=path,
            line=exc.line,
        ) from None
    patterns = [line.strip() for line in text.split("\n") if line.strip() and not line.startswith("#")]
    return patterns, own


def is_excluded(patterns: list[str], relative_path: str) -> bool:
    """Docker's verdict for one path (see build_context: the one matcher)."""
    return IgnoreRules.parse("\n".join(patterns)).excludes(relative_path)
