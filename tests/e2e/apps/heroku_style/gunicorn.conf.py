# Gunicorn settings, read from the Procfile's --config. The platform sets PORT and passes the bind.
import os

workers = int(os.environ.get("WEB_CONCURRENCY", 2))
timeout = 20
# Behind a TLS-terminating router: trust its X-Forwarded-* headers (FORWARDED_ALLOW_IPS also works).
forwarded_allow_ips = "*"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
