# A build-like script for the shell: `cd /tmp; shell -f /etc/sums.sh`. Each job checksums a
# file of the image in the background and writes its own output file in the current directory;
# `wait` waits for them all. Run through a job server (`with /srv/jobs shell -f /etc/sums.sh`)
# the same script's jobs go wherever the job server sends them.
cksum -o cat.sum /bin/cat &
cksum -o ls.sum /bin/ls &
cksum -o shell.sum /bin/shell &
cksum -o motd.sum /etc/motd &
wait
