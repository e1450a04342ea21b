from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render

from .models import Greeting


def index(request):
    return HttpResponse("Hello from a Heroku-style app\n", content_type="text/plain")


def db(request):
    Greeting.objects.create()
    with connection.cursor() as cursor:
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        (ssl,) = cursor.fetchone()
    return render(request, "db.html", {"greetings": Greeting.objects.count(), "ssl": ssl})
