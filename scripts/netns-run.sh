#!/bin/sh
# Run a command inside a private network namespace: `lo` up and a veth pair with
# 10.99.0.1 (v0) and 10.99.0.2 (v1). WebRTC needs a non-loopback interface to gather
# candidates; inside the namespace nothing can reach any address outside it.
# Usage: scripts/netns-run.sh COMMAND [ARGS...]
set -eu
if [ "${CONCLAVE_NETNS:-}" = 1 ]; then
  exec "$@"
fi
inner='
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.99.0.1/24 dev v0
  ip addr add 10.99.0.2/24 dev v1
  ip link set v0 up
  ip link set v1 up
  CONCLAVE_NETNS=1 exec "$@"
'
if [ "$(id -u)" = 0 ]; then
  exec unshare --net sh -c "$inner" netns-run "$@"
fi
exec unshare --map-root-user --net sh -c "$inner" netns-run "$@"
