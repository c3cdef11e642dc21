#!/usr/bin/env bash
# Redis on landsraad: local only, password required (the queue worker reads it from worker.env).
set -euo pipefail

REDIS_CONF=/etc/redis/redis.conf
REDIS_PASSWORD=$(cat /etc/chom/secrets/redis_password)

sed -i 's/^bind .*/bind 127.0.0.1 ::1/' "$REDIS_CONF"
sed -i 's/^# *maxmemory-policy .*/maxmemory-policy allkeys-lru/' "$REDIS_CONF"
sed -i "s/^# *requirepass .*/requirepass ${REDIS_PASSWORD}/" "$REDIS_CONF"
systemctl restart redis-server
REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG
