"""The health probe every backend makes: the request an app's real traffic makes, and a failure
that explains itself.

Real requests reach an app through the edge with the public host name and `X-Forwarded-Proto:
https`. A probe with an internal name gets Django's 400 DisallowedHost from any app whose
ALLOWED_HOSTS lists only its public names (Heroku's getting-started app does), and a plain-HTTP
probe gets a 301 from `SECURE_SSL_REDIRECT`; so every probe (the container's, the edge's, the
Kubernetes probes) sends the same two headers. A 2xx or 3xx answer is healthy; redirects are not
followed (they point at the public URL, which the copy itself cannot reach).

When a probe fails, its output, which Docker keeps in the container's health log, is one line: the
URL, the Host, then the status and the first line of the body, or the connection error.
"""

from __future__ import annotations

import shlex

from flashdrive.model.stack import ResolvedApp

BODY_CHARS = 200  # of the body's first line, in the health log


def probe_headers(app: ResolvedApp) -> dict[str, str]:
    return {"Host": app.probe_host, "X-Forwarded-Proto": "https"}


def _url(app: ResolvedApp) -> str:
    assert app.health is not None and app.port is not None
    return f"http://127.0.0.1:{app.port}{app.health.path}"


def python_probe(app: ResolvedApp) -> str:
    """A `python -c` script for images the buildpack built (Python is there, curl may not be).

    One line (`exec` of the script's repr): a health command may pass through a shell on its way
    (Docker's CLI takes `--health-cmd` as one string), and a line break would not survive it."""
    assert app.health is not None
    return (
        "exec("
        + repr(
            "\n".join(
                [
                    "import sys, urllib.request as r, urllib.error as e",
                    "class Keep(r.HTTPRedirectHandler):",
                    "    def redirect_request(self, *args): return None",
                    f"url, headers = {_url(app)!r}, {probe_headers(app)!r}",
                    "where = 'GET ' + url + ' Host: ' + headers['Host']",
                    "try:",
                    f"    answer = r.build_opener(Keep).open(r.Request(url, headers=headers), timeout={app.health.timeout_s})",
                    f"    status, body = answer.status, answer.read({BODY_CHARS * 4})",
                    "except e.HTTPError as failed:",
                    f"    status, body = failed.code, failed.read({BODY_CHARS * 4})",
                    "except Exception as failed:",
                    "    reason = getattr(failed, 'reason', None) or failed",
                    "    print(where + ': ' + (str(reason) or type(failed).__name__)); sys.exit(1)",
                    "if status < 400: sys.exit(0)",
                    "line = next((l.strip() for l in body.decode('utf-8', 'replace').splitlines() if l.strip()), '')",
                    f"print(where + ': HTTP ' + str(status) + ': ' + line[:{BODY_CHARS}]); sys.exit(1)",
                ]
            )
        )
        + ")"
    )


def shell_probe(app: ResolvedApp) -> str:
    """A CMD-SHELL probe for prebuilt images: curl when present, else wget (busybox or GNU)."""
    assert app.health is not None
    url, headers = _url(app), probe_headers(app)
    curl_headers = " ".join(f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items())
    wget_headers = " ".join(f"--header {shlex.quote(f'{k}: {v}')}" for k, v in headers.items())
    where = shlex.quote(f"GET {url} Host: {headers['Host']}")
    timeout = app.health.timeout_s
    return (
        "if command -v curl >/dev/null 2>&1; then "
        f"out=$(curl -sS -m {timeout} {curl_headers} -w '\\n%{{http_code}}' {shlex.quote(url)} 2>&1); "
        'code=$(printf %s "$out" | tail -n 1); '
        'case "$code" in 2??|3??) exit 0;; 000) detail=$(printf %s "$out" | head -n 1);; '
        f'*) detail="HTTP $code: $(printf %s "$out" | sed -n "/./{{p;q;}}" | cut -c1-{BODY_CHARS})";; esac; '
        f'echo {where}": $detail"; exit 1; '
        "fi; "
        f"wget -q -O /dev/null -T {timeout} {wget_headers} {shlex.quote(url)} 2>&1 && exit 0; "
        f"echo {where}': failed (wget; no curl in the image for the status)'; exit 1"
    )
