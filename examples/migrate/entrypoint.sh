#!/bin/sh
# The seed's init script waited with `sleep 15` before `rake db:create`. Wait for a real login instead,
# then hand the process over to Rails (exec: signals reach it directly). MYSQL_ROOT_PASSWORD comes from
# the env_file (secrets.env), never from the image or the compose file.
set -eu
exec stackrig migrate wait "mysql://root:${MYSQL_ROOT_PASSWORD}@app_mysql:3306/" --timeout 120 --interval 0.5 \
  -- sh -c 'bundle exec rake db:create && exec bundle exec rails server -b 0.0.0.0 -p 3000'
