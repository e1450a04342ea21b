from django.db import connection
from django.http import HttpResponse

from notes.models import Note


def index(request):
    Note.objects.create(text=request.META.get("HTTP_USER_AGENT", "")[:200])
    with connection.cursor() as cursor:
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        (ssl,) = cursor.fetchone()
    return HttpResponse(f"notes: {Note.objects.count()}; database over TLS: {ssl}\n", content_type="text/plain")
