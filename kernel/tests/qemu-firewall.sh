#!/usr/bin/env bash
# qemu-firewall.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR [qemu-boot.sh options]
# The firewall (servers/firewall) in front of the network server, against a real peer on the
# host's loopback (kernel/tests/net_peer.py: HTTP and a UDP echo; 10.0.2.2 through QEMU's user
# network). Boots the firewall test image (user/etc/test/firewall.conf) with a FAT disk. In
# Keel the unchanged `fetch`, whose /srv/net is the firewall, downloads a 1 MiB file from the
# peer onto the disk (allowed: rule 2) and is refused a privileged port (rule 1, NoRights: "no
# rights"); a second firewall given a malformed rules file refuses to start, naming line 5;
# fwtest runs the client checks (user/fwtest). Afterwards the file's bytes on the disk are
# compared with what the host served.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"
mkdir -p "$work/peer"
export MTOOLS_SKIP_CHECK=1 PATH="$PATH:/usr/sbin:/sbin"
img="$work/fw.img"
"$top/ci/make-disk.sh" "$img" 16 16 >/dev/null
head -c 1048576 /dev/urandom >"$work/peer/blob"
peer_log="$work/peer.log"
python3 "$top/kernel/tests/net_peer.py" "$work/peer" >"$peer_log" 2>&1 &
peer=$!
trap 'kill "$peer" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ "$(wc -l <"$peer_log")" -ge 2 ] && break; sleep 0.1; done
http_port=$(awk '$1 == "http" {print $2}' "$peer_log")
udp_port=$(awk '$1 == "udp" {print $2}' "$peer_log")
[ -n "$http_port" ] && [ -n "$udp_port" ] || { echo "qemu-firewall.sh: the host peer did not start" >&2; exit 1; }
status=0
"$check" "$boot" "$build" 0 \
    "^firewall: rule 1: deny tcp 10\\.0\\.2\\.2 1-1023 \\(line 4\\)$" \
    "^firewall: 8 rules from etc/firewall-test\\.rules, in front of srv/net, served as srv/fw and srv/fwns/net$" \
    "^firewall: allow tcp 10\\.0\\.2\\.2:$http_port \\(rule 2\\)$" \
    "^firewall: deny tcp 10\\.0\\.2\\.2:80 \\(rule 1\\)$" \
    "^fetch: http://10\\.0\\.2\\.2/denied: 10\\.0\\.2\\.2: no rights$" \
    "^firewall: etc/firewall-bad\\.rules:5:13: bad address \\(expected a\\.b\\.c\\.d, a\\.b\\.c\\.d/N or any\\); not started$" \
    "^firewall: deny tcp 10\\.0\\.2\\.15:7320 \\(rule 3\\)$" \
    "^firewall: deny udp 10\\.0\\.2\\.2:9 \\(rule 6\\)$" \
    "^firewall: allow udp 10\\.0\\.2\\.2:$udp_port \\(rule 7\\)$" \
    "^[1-9][0-9]* passed, 0 failed$" "^init: exec finished with status 0$" \
    -- --batch --disk "$img" --net --image "$build/user/firewall-image/initfs.tar" \
    --exec "fetch http://10.0.2.2:$http_port/blob > /mnt/disk/blob; fetch http://10.0.2.2/denied; fwtest $udp_port" \
    "$@" >"$work/keel.log" 2>&1 || status=$?
cat "$work/keel.log"
fail=0
bad() { echo "qemu-firewall.sh: $*" >&2; fail=1; }
[ "$status" = 0 ] || bad "the Keel run failed its checks (status $status)"
mcopy -n -i "$img@@1M" ::/blob "$work/blob-on-disk" 2>/dev/null || bad "blob: not on the disk"
cmp -s "$work/peer/blob" "$work/blob-on-disk" || bad "blob: other bytes than the host served"
[ "$fail" = 0 ] && echo "qemu-firewall.sh: all checks passed ($(sha256sum <"$work/blob-on-disk" | cut -c1-16)... on both sides)"
exit "$fail"
