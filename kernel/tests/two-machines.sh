# two-machines.sh: sourced by the two-machine tests (qemu-remote-run.sh, qemu-jobs-remote.sh).
# Two Keel machines on one virtual link (ci/qemu-boot.sh --link: -netdev dgram on the host's
# loopback), static addresses from their init.conf: B (10.0.3.2, MAC ...:02) runs the agent
# (user/etc/test/remote-b.conf), A (10.0.3.1, MAC ...:01) runs the test. Each QEMU runs in its
# own session so that a kill takes its whole process group. The caller sets boot, build and
# work before sourcing; the logs are $work/a.log and $work/b.log.

# fail WHY: says why with both machines' serial logs and ends the test.
fail() {
    echo "FAIL: $*" >&2
    echo "--- A:" >&2; tr -d '\r' <"$work/a.log" >&2 || true
    echo "--- B:" >&2; tr -d '\r' <"$work/b.log" >&2 || true
    exit 1
}

# Two free UDP ports on the loopback for the link's two ends.
read -r port_a port_b < <(python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
# Each machine's whole session is killed on the way out; only one that was started (`kill -- -0`
# would be this script's own process group).
trap '[ -z "${b_pid:-}" ] || kill -KILL -- -"$b_pid" 2>/dev/null || true
      [ -z "${a_pid:-}" ] || kill -KILL -- -"$a_pid" 2>/dev/null || true' EXIT

# start_b TIMEOUT: boots B with the agent and waits (at most 30 s) until it listens; sets b_pid.
start_b() {
    setsid "$boot" "$build" --batch --image "$build/user/remote-b-image/initfs.tar" \
        --link "$port_b:$port_a" --link-mac 52:54:00:12:34:02 --exec "sleep 100" \
        --timeout "$1" >"$work/b.log" 2>&1 &
    b_pid=$!
    for _ in $(seq 300); do grep -q "^agent: listening" "$work/b.log" && break; sleep 0.1; done
    grep -q "^agent: listening" "$work/b.log" || fail "B's agent did not start"
}

# start_a IMAGE DISK COMMAND TIMEOUT: boots A from IMAGE (an initfs.tar) with DISK, running
# COMMAND; sets a_pid.
start_a() {
    setsid "$boot" "$build" --batch --image "$1" --disk "$2" \
        --link "$port_a:$port_b" --link-mac 52:54:00:12:34:01 --exec "$3" --timeout "$4" \
        >"$work/a.log" 2>&1 &
    a_pid=$!
}

# wait_a: waits for A's boot to end; fails unless it ended with status 0.
wait_a() {
    local status
    set +e
    wait "$a_pid"
    status=$?
    set -e
    [ "$status" = 0 ] || fail "A's boot ended with $status"
}
