#!/usr/bin/env bash
# Start a single-node OpenStack Swift 2.30 (Debian 12 package python3-swift)
# with the s3api middleware, as a real S3-compatible server for CI tests.
#
#   S3 endpoint : http://127.0.0.1:$S3_PORT  (path-style, region us-east-1)
#   access key  : test:tester        secret key: testing
#   stop        : kill $(cat "$SWIFT_ROOT"/run/*.pid)
#
# Env: SWIFT_ROOT (default /tmp/piper-swift-s3; wiped on start), S3_PORT (9480),
#      SWIFT_PORT_BASE (6290 = object; +1 container, +2 account),
#      MEMCACHE_PORT (11212), SKIP_APT=1 (packages already installed).
# Needs root for apt and for /etc/swift/swift.conf (servers read the hash
# and storage policies only from there; swift_dir only moves the rings).
set -euo pipefail
ROOT=${SWIFT_ROOT:-/tmp/piper-swift-s3}
S3_PORT=${S3_PORT:-9480}
BASE=${SWIFT_PORT_BASE:-6290}
OBJ_PORT=$BASE CONT_PORT=$((BASE + 1)) ACCT_PORT=$((BASE + 2))
MC_PORT=${MEMCACHE_PORT:-11212}
RUNUSER=$(id -un)
PY=/usr/bin/python3   # Debian's python: a pyenv/venv python3 lacks swift

if [ "${SKIP_APT:-0}" != 1 ]; then
  # python3-swift holds all the server code incl. s3api (48 packages). The
  # swift-proxy/-object/... packages only add systemd units, uwsgi, rsyslog
  # and 3-line launchers (68 packages); not needed. memcached IS needed:
  # tempauth fails every request with "Memcache required" without it.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-swift memcached curl >/dev/null
fi

# Stop an instance started earlier from the same root, then start clean. Its servers are found
# by their config paths and its memcached by its port too: a root deleted under running servers
# took the pid files with it, and a memcached left running would keep answering from its cache
# that the new, empty account does not exist (every bucket PUT a 500 until it expired).
if compgen -G "$ROOT/run/*.pid" >/dev/null; then
  kill $(cat "$ROOT"/run/*.pid) 2>/dev/null || true; sleep 1
fi
if pkill -f "run_wsgi.* $ROOT/etc/|memcached -l 127.0.0.1 -p $MC_PORT " 2>/dev/null; then sleep 1; fi
rm -rf "$ROOT"
mkdir -p "$ROOT"/{etc,run,log} "$ROOT/node/d1"

# (Left alone if present, e.g. the one Debian's "swift" package ships.)
# max_meta_value_length: Swift's default is 256 bytes; S3 allows 2 KiB.
if [ ! -e /etc/swift/swift.conf ]; then
  mkdir -p /etc/swift
  cat > /etc/swift/swift.conf <<'EOF'
[swift-hash]
swift_hash_path_prefix = ci
swift_hash_path_suffix = ci
[storage-policy:0]
name = Policy-0
default = yes
[swift-constraints]
max_meta_value_length = 2048
EOF
fi

# Swift keeps object metadata in user.* xattrs: the device folder's
# filesystem must support them (ext4/xfs/btrfs/overlayfs: yes; tmpfs only
# from kernel 6.6). ext4 caps all xattrs of a file at ~4 KiB (metadata).
$PY - "$ROOT/node/d1" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], '.xattr-test'); open(p, 'w').close()
try:
    os.setxattr(p, 'user.swift.test', b'x' * 1024)
except OSError as e:
    sys.exit('no user xattrs on %s: %s' % (sys.argv[1], e))
finally:
    os.unlink(p)
PY

storage_conf() {  # $1 = object|container|account, $2 = port
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
user = $RUNUSER
swift_dir = $ROOT/etc
devices = $ROOT/node
mount_check = false
disable_fallocate = true
log_level = WARNING

[pipeline:main]
pipeline = $1-server

[app:$1-server]
use = egg:swift#$1
EOF
}
storage_conf object "$OBJ_PORT" > "$ROOT/etc/object-server.conf"
storage_conf container "$CONT_PORT" > "$ROOT/etc/container-server.conf"
storage_conf account "$ACCT_PORT" > "$ROOT/etc/account-server.conf"

cat > "$ROOT/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $S3_PORT
workers = 1
user = $RUNUSER
swift_dir = $ROOT/etc
log_level = WARNING

[pipeline:main]
# s3api just before tempauth; cache before both; slo after s3api (multipart)
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
# With one object node, a single 507 (e.g. ENOSPC on xattrs) would otherwise
# "error-limit" the node for 60 s and every object request would get a 503.
error_suppression_interval = 0

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:tempauth]
use = egg:swift#tempauth
# S3 access key "test:tester" (account:user), secret "testing"
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MC_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF

# Rings: 2^6 partitions, 1 replica, one device "d1". Same as, per ring,
#   swift-ring-builder object.builder create 6 1 0
#   swift-ring-builder object.builder add r1z1-127.0.0.1:6200/d1 1
#   swift-ring-builder object.builder rebalance
# but one python start (~1 s) instead of nine (~9 s).
$PY - "$ROOT/etc" "$OBJ_PORT" "$CONT_PORT" "$ACCT_PORT" <<'PY'
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(('object', 'container', 'account'), map(int, sys.argv[2:])):
    b = RingBuilder(6, 1, 0)  # part_power, replicas, min_part_hours
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
               'device': 'd1', 'weight': 1})
    b.rebalance()
    b.save('%s/%s.builder' % (etc, name))
    b.get_ring().save('%s/%s.ring.gz' % (etc, name))
PY

# Servers run in the foreground of a background job. This one-liner is what
# /usr/bin/swift-*-server do; verbose=True logs to stdout instead of syslog.
nohup memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 -u "$RUNUSER" \
  > "$ROOT/log/memcached.log" 2>&1 &
echo $! > "$ROOT/run/memcached.pid"
for s in account container object proxy; do
  nohup $PY -c 'import sys; from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[1], sys.argv[2], verbose=True))' \
    "$ROOT/etc/$s-server.conf" "$s-server" > "$ROOT/log/$s.log" 2>&1 &
  echo $! > "$ROOT/run/$s.pid"
done

for _ in $(seq 1 150); do   # up to ~30 s (about 5-10 s on 2 busy cores)
  if curl -sf "http://127.0.0.1:$S3_PORT/healthcheck" >/dev/null &&
     curl -s -o /dev/null "http://127.0.0.1:$OBJ_PORT/" &&
     curl -s -o /dev/null "http://127.0.0.1:$CONT_PORT/" &&
     curl -s -o /dev/null "http://127.0.0.1:$ACCT_PORT/" &&
     (exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT") 2>/dev/null; then
    echo "swift s3api ready: http://127.0.0.1:$S3_PORT key test:tester secret testing (pids: $ROOT/run)"
    exit 0
  fi
  sleep 0.2
done
echo "swift did not come up; logs:" >&2
tail -n 20 "$ROOT"/log/*.log >&2
exit 1
