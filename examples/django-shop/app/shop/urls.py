from django.urls import path

from store import views

urlpatterns = [
    path("", views.index),
    path("healthz", views.healthz),
    path("files/<str:name>", views.files),
    path("jobs", views.create_job),
    path("jobs/<int:job_id>", views.job_detail),
]
