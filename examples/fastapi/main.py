import os

from fastapi import FastAPI

api = FastAPI(title="pyship example")


@api.get("/")
def index():
    return {"message": "Hello from FastAPI, served by pyship"}


@api.get("/env")
def env():
    return {"greeting": os.getenv("GREETING", "hello")}


@api.get("/healthz")
def healthz():
    return {"status": "ok"}
