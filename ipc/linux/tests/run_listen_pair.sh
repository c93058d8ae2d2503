#!/bin/sh
# ctest ipc_linux_file_read_example_listen: server and client started independently, meeting
# at a listening socket. Fails if either exits non-zero or the server outlives the client.
# usage: run_listen_pair.sh SERVER_EXE CLIENT_EXE ROOT_DIR
set -u
server=$1 client=$2 root=$3
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
"$server" --listen "$dir/sock" --root "$root" --clients 1 &
server_pid=$!
"$client" --connect "$dir/sock" --root "$root" "$(basename "$server")"
client_status=$?
# The server exits once its one client has closed; give it a few seconds.
i=0
while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$server_pid" 2>/dev/null; then
    echo "server still running after its client closed"
    kill -9 "$server_pid"
    exit 1
fi
wait "$server_pid"
server_status=$?
echo "client exit $client_status, server exit $server_status"
[ "$client_status" -eq 0 ] && [ "$server_status" -eq 0 ]
