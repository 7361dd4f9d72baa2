#!/bin/sh
# Wait until the database takes a real login (the monolith's init script slept 15 s), then serve.
set -eu
exec stackrig --verbose migrate wait --timeout 120 \
  "mysql://${DATABASE_USERNAME}:${DATABASE_PASSWORD}@${DATABASE_HOST}:${DATABASE_PORT}/${DATABASE_NAME}" \
  -- /usr/bin/python3 /app/app.py
