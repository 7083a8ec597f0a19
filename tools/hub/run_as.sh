#!/bin/sh
# run_as.sh USER DIR [HIDDEN:KEEP ...] -- COMMAND [ARGS...]
# Run COMMAND as the Unix user USER (their uid, gid and groups) in DIR -- how the classroom starts a user's
# server and the teacher's commands (tools/hub/classroom.py). Needs root.
# Each HIDDEN:KEEP says: KEEP (the course's Python, its virtual environment or the checkout) lies under HIDDEN, a
# folder other users may not enter (pyenv under /root, mode 0700). Then COMMAND runs in a private mount namespace
# where HIDDEN is an empty tmpfs that holds only the KEEP folders, bound read-only from the real ones: USER can run
# the course and sees nothing else of HIDDEN. The real HIDDEN keeps its mode; nothing changes outside this process
# tree. (Paths with spaces are not supported here.)
set -eu
user=$1 dir=$2
shift 2
pairs=""
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do pairs="$pairs $1"; shift; done
[ "$#" -gt 0 ] && shift   # the --
if [ -z "$pairs" ]; then
  cd "$dir"
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
fi
exec unshare --mount --propagation private sh -c '
  set -eu
  user=$1 dir=$2 pairs=$3
  shift 3
  fd=3
  for pair in $pairs; do eval "exec $fd<\"\${pair#*:}\""; fd=$((fd + 1)); done   # the real KEEPs, opened first
  covered=" "
  for pair in $pairs; do
    hidden=${pair%%:*}
    case "$covered" in *" $hidden "*) ;; *) mount -t tmpfs -o mode=0755,size=1m tmpfs "$hidden"; covered="$covered$hidden " ;; esac
  done
  fd=3
  for pair in $pairs; do
    keep=${pair#*:}
    mkdir -p "$keep"
    mount --no-canonicalize --bind "/proc/self/fd/$fd" "$keep"
    mount -o remount,bind,ro "$keep"
    eval "exec $fd<&-"
    fd=$((fd + 1))
  done
  cd "$dir"
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"' sh "$user" "$dir" "$pairs" "$@"
