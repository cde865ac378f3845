from django.urls import path

from hello import views

urlpatterns = [
    path("", views.index),
    path("env", views.env),
    path("healthz", views.healthz),
]
