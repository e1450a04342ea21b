from django.db import connection
from django.http import HttpResponse

from blog.models import Post


def index(request):
    Post.objects.create(title="hello")
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        _, cipher = cursor.fetchone()
    return HttpResponse(f"posts: {Post.objects.count()}; database over TLS: {cipher or 'no'}\n",
                        content_type="text/plain")
