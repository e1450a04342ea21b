from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=120)
    published = models.DateTimeField(auto_now_add=True)
