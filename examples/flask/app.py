import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask, served by pyship\n"


@app.get("/env")
def env():
    # Settings reach the app as environment variables at run time, never baked in.
    return jsonify(greeting=os.environ.get("GREETING", "hello"))


@app.get("/healthz")
def healthz():
    return "ok\n"


if __name__ == "__main__":
    app.run(debug=True)
