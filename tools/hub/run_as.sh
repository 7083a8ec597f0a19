#!/bin/sh
# run_as.sh USER DIR HIDDEN KEEP COMMAND [ARGS...]
# Run COMMAND as the Unix user USER (their uid, gid and groups) in DIR -- how the classroom starts a user's
# server and the teacher's commands (tools/hub/classroom.py). Needs root.
# HIDDEN and KEEP ('-' '-' for none): when the course's Python lives under a folder that other users may not enter
# (pyenv under /root, mode 0700), COMMAND runs in a private mount namespace where HIDDEN is an empty, readable
# tmpfs holding only KEEP (bound read-only from the real one): USER can run that interpreter and sees nothing
# else of HIDDEN. The real HIDDEN keeps its mode; nothing changes outside this process tree.
set -eu
user=$1 dir=$2 hidden=$3 keep=$4
shift 4
if [ "$hidden" = "-" ]; then
  cd "$dir"
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
fi
cd "$keep"    # mount --no-canonicalize --bind . : the real KEEP, reached through the working folder
exec unshare --mount --propagation private sh -c '
  set -eu
  hidden=$1 keep=$2 user=$3 dir=$4
  shift 4
  mount -t tmpfs -o mode=0755,size=1m tmpfs "$hidden"
  mkdir -p "$keep"
  mount --no-canonicalize --bind . "$keep"
  mount -o remount,bind,ro "$keep"
  cd "$dir"
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"' sh "$hidden" "$keep" "$user" "$dir" "$@"
