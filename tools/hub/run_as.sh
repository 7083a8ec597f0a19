#!/bin/sh
# run_as.sh USER DIR [HIDDEN:KEEP ...] [!COVER ...] -- COMMAND [ARGS...]
# Run COMMAND as the Unix user USER (their uid, gid and groups) in DIR -- how the classroom starts a user's
# server and the teacher's commands (tools/hub/classroom.py). Needs root. COMMAND runs in a private mount
# namespace (unshare --mount, propagation private): the mounts below exist for this process tree only, and
# nothing on the disk or in anyone else's view of it changes -- no mode, no owner, no file.
# * HIDDEN:KEEP says: KEEP (the course's Python, its virtual environment or the checkout) lies under HIDDEN, a
#   folder other users may not enter (pyenv under /root, mode 0700). HIDDEN becomes an empty tmpfs that holds
#   only the KEEP folders, bound read-only from the real ones: USER can run the course and sees nothing else of
#   HIDDEN.
# * !COVER (the repository's solutions/ folders and its git folder) is covered: a folder by an empty read-only
#   tmpfs of mode 0700, root's; a file (a worktree's .git) by an empty read-only file of mode 0000, root's. USER
#   can neither list nor read it. A COVER that does not exist (or is not visible after the HIDDEN mounts) is
#   left alone.
# (Paths with spaces are not supported here.)
set -eu
user=$1 dir=$2
shift 2
pairs="" covers=""
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    !*) covers="$covers ${1#!}" ;;
    *:*) pairs="$pairs $1" ;;
    *) echo "run_as.sh: neither HIDDEN:KEEP nor !COVER: $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$#" -gt 0 ] && shift   # the --
exec unshare --mount --propagation private sh -c '
  set -eu
  user=$1 dir=$2 pairs=$3 covers=$4
  shift 4
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
  # Covers: folders first (each an empty tmpfs); the first one briefly holds the empty file bound over each
  # covered file, which is then unlinked, so every covering tmpfs is empty before it is made read-only.
  stub="" folders="" files=""
  for path in $covers; do
    if [ -d "$path" ]; then
      mount -t tmpfs -o mode=0700,size=4k,nr_inodes=4 tmpfs "$path"
      folders="$folders $path"
      if [ -z "$stub" ]; then stub=$path/.cover; : > "$stub"; chmod 0 "$stub"; fi
    elif [ -e "$path" ]; then
      files="$files $path"
    fi
  done
  for path in $files; do
    if [ -z "$stub" ]; then echo "run_as.sh: no folder to cover, so nothing to cover the file $path with" >&2; exit 2; fi
    mount --bind "$stub" "$path"
    mount -o remount,bind,ro "$path"
  done
  [ -z "$stub" ] || rm -f "$stub"
  for path in $folders; do mount -o remount,bind,ro "$path"; done   # read-only mounts (the file system stays rw)
  cd "$dir"
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"' sh "$user" "$dir" "$pairs" "$covers" "$@"
