#!/bin/sh
# Redis for infra/docker-compose.yml: writes the ACL file from the passwords in the environment
# (SHA-256 hashes only, file mode 0600), then runs redis-server with it. The rules are the ones
# of userpulse/redis_acl.py (RULES, DEFAULT_USER_RULE); tests/unit/test_deploy_static.py checks
# that they stay equal.
set -eu
: "${USERPULSE_REDIS_JOB_PASSWORD:?set USERPULSE_REDIS_JOB_PASSWORD (infra/.env)}"
: "${USERPULSE_REDIS_LOOKUP_PASSWORD:?set USERPULSE_REDIS_LOOKUP_PASSWORD (infra/.env)}"
: "${USERPULSE_REDIS_ADMIN_PASSWORD:?set USERPULSE_REDIS_ADMIN_PASSWORD (infra/.env)}"

hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

CONNECT='+auth +hello +select +client|setname +ping +readonly +cluster|slots +cluster|shards +command +asking'
ACL=/data/users.acl
umask 077
{
  echo "user default off resetkeys ~* resetchannels &* +@all"
  echo "user userpulse-job on #$(hash "$USERPULSE_REDIS_JOB_PASSWORD") resetkeys ~up:v1:* resetchannels -@all $CONNECT +hset +hmget +hget +hgetall +hdel +get +set +exists +expire +evalsha +eval +script|load +script|exists +info"
  echo "user userpulse-lookup on #$(hash "$USERPULSE_REDIS_LOOKUP_PASSWORD") resetkeys ~up:v1:* resetchannels -@all $CONNECT +hgetall +hget +hmget +hexists +get +exists +ttl +pttl +info"
  echo "user userpulse-admin on #$(hash "$USERPULSE_REDIS_ADMIN_PASSWORD") ~* &* +@all"
} > "$ACL"
exec redis-server --aclfile "$ACL" --appendonly yes --save 60 1000
