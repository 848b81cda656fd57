#!/usr/bin/env bash
# A Docker engine for the docker and compose services tests
# (tests/integration/test_docker_services.py).
#
#   scripts/engine.sh start   start dockerd (as root) unless an engine already answers
#   scripts/engine.sh stop    stop the dockerd that `start` started, and nothing else
#
# The engine uses no bridge, no iptables and no masquerading: Synthetic runs
# containers with host networking on 127.0.0.1 only, so none is needed, and
# the machine's network is left as it was. Its log and the pid of what
# `start` started are kept in $SYNTHETIC_ENGINE_DIR (default
# /tmp/synthetic-engine); `stop` ends only that pid, so an engine that
# was running before `start` (someone else's) is never stopped.
# SYNTHETIC_DOCKERD_EXTRA adds dockerd options (word-split), e.g. its own
# --host, --data-root, --exec-root and --pidfile to try this script beside
# another engine (with DOCKER_HOST naming that --host).
set -euo pipefail

state=${SYNTHETIC_ENGINE_DIR:-/tmp/synthetic-engine}
pidfile=$state/started.pid
# Seconds to wait for the engine to answer, and for it to end.
start_deadline=${SYNTHETIC_ENGINE_START_TIMEOUT:-90}
stop_deadline=30

answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ours() {
    # The pid `start` recorded, if that process still runs.
    [ -s "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
    if answers; then
        echo "engine: a Docker engine already answers; leaving it as it is"
        return 0
    fi
    command -v dockerd >/dev/null 2>&1 || { echo "engine: dockerd is not installed (docker.io)" >&2; exit 1; }
    [ "$(id -u)" = 0 ] || { echo "engine: starting dockerd needs root" >&2; exit 1; }
    if ours >/dev/null; then
        echo "engine: the dockerd started before ($(cat "$pidfile")) runs but does not answer" >&2
    else
        mkdir -p "$state"
        # Detached (its own session), so that it outlives this script; its
        # output goes to its own log file.
        # shellcheck disable=SC2086  # word-split on purpose
        setsid dockerd --bridge=none --iptables=false --ip-masq=false \
            ${SYNTHETIC_DOCKERD_EXTRA:-} >"$state/dockerd.log" 2>&1 </dev/null &
        echo $! >"$pidfile"
    fi
    local deadline=$((SECONDS + start_deadline))
    until answers; do
        if ! ours >/dev/null; then
            echo "engine: dockerd ended; the end of its log ($state/dockerd.log):" >&2
            tail -n 30 "$state/dockerd.log" >&2 || true
            rm -f "$pidfile"
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "engine: dockerd did not answer within ${start_deadline} s; the end of its log:" >&2
            tail -n 30 "$state/dockerd.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
    echo "engine: dockerd $(cat "$pidfile") answers (log: $state/dockerd.log)"
}

stop() {
    local pid
    if ! pid=$(ours); then
        rm -f "$pidfile"
        echo "engine: no dockerd started by engine.sh runs; nothing to stop"
        return 0
    fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + stop_deadline))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "engine: dockerd $pid did not end within ${stop_deadline} s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
    echo "engine: stopped dockerd $pid"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
