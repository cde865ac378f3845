import os

from django.http import HttpResponse, JsonResponse


def index(request):
    return HttpResponse("Hello from Django, served by pyship\n")


def env(request):
    return JsonResponse({"greeting": os.environ.get("GREETING", "hello")})


def healthz(request):
    return HttpResponse("ok\n")
