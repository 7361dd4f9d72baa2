"""notes: a small web app as it ran on the VM (Python, PyMySQL, MySQL), now reading DATABASE_*.

WSGI (gunicorn served it on the VM); run directly, it serves itself with wsgiref.
On start it creates its table, as the monolith's init script ran its migrations.
"""

import json
import os
from wsgiref.simple_server import make_server

import pymysql

PORT = int(os.environ.get("PORT", "8080"))


def connect():
    return pymysql.connect(
        host=os.environ["DATABASE_HOST"],
        port=int(os.environ.get("DATABASE_PORT", "3306")),
        user=os.environ["DATABASE_USERNAME"],
        password=os.environ["DATABASE_PASSWORD"],
        database=os.environ["DATABASE_NAME"],
        autocommit=True,
    )


def migrate():
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS notes ("
            " id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(200) NOT NULL,"
            " created TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
        )


def application(environ, start_response):
    with connect() as conn, conn.cursor() as cur:
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            cur.execute("INSERT INTO notes (body) VALUES (%s)", (environ["wsgi.input"].read(size).decode(),))
        cur.execute("SHOW TABLES")
        tables = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT body FROM notes ORDER BY id")
        notes = [row[0] for row in cur.fetchall()]
    body = json.dumps({"app": "notes", "tables": tables, "notes": notes}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    migrate()
    print(f"notes: serving on 0.0.0.0:{PORT}", flush=True)
    make_server("0.0.0.0", PORT, application).serve_forever()  # noqa: S104 - inside its container
