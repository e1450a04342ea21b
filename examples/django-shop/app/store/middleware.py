from .views import healthz


class HealthCheckMiddleware:
    """Answer /healthz before anything else runs.

    Probes come from inside the stack with whatever Host header they like
    (localhost, an IP), which ALLOWED_HOSTS would reject, and they must not
    depend on Postgres or Redis being up.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)
