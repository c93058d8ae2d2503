# qemu_shell_script (kernel/tests/qemu-shell-script.sh checks what it prints): scripts run by
# the shell, background commands, the current directory a script starts in, the process table
# handed down, and the errors of each.
cd /tmp
shell -f /etc/sums.sh
echo sums $?
cat cat.sum ls.sum shell.sum motd.sum
false &
true &
wait
echo failed $?
echo x > f &
echo redirected $?
cd &
echo builtin $?
shell -f /etc/nothing
echo missing $?
echo "echo one; echo 'open" > bad.sh
shell -f bad.sh
echo bad $?
echo 'pwd; mkdir sub; cd sub; pwd; cd ../..; cd /etc; pwd' > nested.sh
shell -f nested.sh
ls
shell -c ps > ps.txt
cat ps.txt
exit 3
echo not reached
