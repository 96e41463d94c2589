#!/bin/sh
# dockerd.sh start|stop|status - a private dockerd for podwarden's integration tests.
#
# Everything it owns lives under its own paths, so it never collides with a system dockerd or with
# another test daemon: data root, exec root (which also holds the containerd it supervises), socket,
# pidfile and log. Containers on the default network use a dedicated bridge, pwtest-docker0, instead of
# docker0; if a bridge cannot be set up here (no bridge support, no working iptables), the daemon runs
# with --bridge=none --iptables=false and containers get only host or no networking.
#
# Environment overrides: PODWARDEN_DOCKERD_BRIDGE=none forces the no-bridge mode.
set -eu

BASE_RUN=/run/podwarden-test
DATA_ROOT=/var/lib/podwarden-test/docker
EXEC_ROOT=$BASE_RUN/docker-exec
SOCK=$BASE_RUN/docker.sock
PIDFILE=$BASE_RUN/docker.pid
LOG=/var/log/podwarden-test-dockerd.log
BRIDGE=pwtest-docker0
BRIDGE_CIDR=172.30.251.1/24
WAIT_SECONDS=30

export DOCKER_HOST="unix://$SOCK"

ping_ok() {
  [ -S "$SOCK" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://docker/_ping 2>/dev/null)" = "OK" ]
  else
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  fi
}

daemon_pid() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Creates the dedicated bridge and checks that iptables can be used; prints the dockerd network flags.
network_flags() {
  if [ "${PODWARDEN_DOCKERD_BRIDGE:-}" = "none" ]; then
    echo "--bridge=none --iptables=false"
    return
  fi
  if ! iptables -t nat -L -n >/dev/null 2>&1 || ! iptables -t filter -L -n >/dev/null 2>&1; then
    echo "dockerd.sh: iptables is not usable here; starting with --bridge=none" >&2
    echo "--bridge=none --iptables=false"
    return
  fi
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    if ! ip link add "$BRIDGE" type bridge 2>/dev/null; then
      echo "dockerd.sh: cannot create bridge $BRIDGE; starting with --bridge=none" >&2
      echo "--bridge=none --iptables=false"
      return
    fi
  fi
  ip addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_CIDR" || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  echo "--bridge=$BRIDGE"
}

start() {
  if ping_ok; then
    echo "DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  if pid=$(daemon_pid); then
    echo "dockerd.sh: dockerd (pid $pid) from $PIDFILE does not answer on $SOCK; stop it first" >&2
    return 1
  fi
  mkdir -p "$BASE_RUN" "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$LOG")"
  rm -f "$SOCK" "$PIDFILE"
  net=$(network_flags)
  echo "=== $(date -u +%FT%TZ) dockerd.sh start: $net" >>"$LOG"
  # shellcheck disable=SC2086 # $net is a list of flags
  setsid dockerd \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    -H "unix://$SOCK" \
    --pidfile "$PIDFILE" \
    $net \
    >>"$LOG" 2>&1 </dev/null &
  i=0
  while [ $i -lt $((WAIT_SECONDS * 4)) ]; do
    if ping_ok; then
      echo "DOCKER_HOST=$DOCKER_HOST"
      return 0
    fi
    if ! kill -0 $! 2>/dev/null; then
      break
    fi
    sleep 0.25
    i=$((i + 1))
  done
  echo "dockerd.sh: dockerd did not answer on $SOCK within ${WAIT_SECONDS}s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  return 1
}

stop() {
  if ! pid=$(daemon_pid); then
    echo "dockerd.sh: not running"
    return 0
  fi
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ $i -ge 120 ]; then
      echo "dockerd.sh: dockerd (pid $pid) did not exit within 30s" >&2
      return 1
    fi
    sleep 0.25
    i=$((i + 1))
  done
  echo "dockerd.sh: stopped (pid $pid)"
}

status() {
  if ping_ok; then
    echo "running: DOCKER_HOST=$DOCKER_HOST pid=$(cat "$PIDFILE" 2>/dev/null || echo '?')"
    return 0
  fi
  echo "not running ($SOCK does not answer)"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
