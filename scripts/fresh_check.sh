#!/usr/bin/env bash
# Proves the README's set-up on a clean Debian 12 root: debootstrap, chroot, clone, run both README commands.
#
# A green CI on a machine that earlier work set up by hand proves nothing about a new one (the OpenCL
# headers oneDNN's CMake config needs were missing for a whole round unnoticed). This script builds an
# empty Debian 12 (bookworm) root from Debian's archive, clones the repository into it, copies
# ../shared/models beside the clone as on the build machines, and runs the README's two commands
# exactly as written, as root inside the chroot: `scripts/demo.sh`, then `scripts/test.sh`. It prints
# how long each took and exits non-zero on the first failure.
#
# usage: scripts/fresh_check.sh [--dir DIR] [--rev REV] [--keep] [--no-models] [--only demo|test]
#   --dir DIR     where the root goes (default /var/tmp/ortool-fresh); wiped first
#   --rev REV     the commit to clone (default HEAD of this repository)
#   --keep        leave the root in place afterwards (to look around with chroot)
#   --no-models   do not copy ../shared/models (the model tests are then not defined)
#   --only CMD    run only one of the two README commands
# Needs root, debootstrap (apt-get install debootstrap) and access to Debian's archive.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

dir=/var/tmp/ortool-fresh
rev=HEAD
keep=0
models=1
only=""
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --rev) rev=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-models) models=0; shift ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh_check.sh: needs root (debootstrap and chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh_check.sh: apt-get install debootstrap first" >&2; exit 2; }
case "$only" in ""|demo|test) ;; *) echo "fresh_check.sh: --only takes demo or test" >&2; exit 2 ;; esac

commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}")
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ "$keep" -eq 0 ] && [ -n "$dir" ] && [ -d "$dir" ]; then rm -rf --one-file-system "$dir"; fi
}
trap cleanup EXIT

elapsed() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }

echo "fresh_check: clean Debian 12 root in $dir, commit ${commit:0:12}"
# A run that was killed leaves /proc, /sys and /dev mounted in its root: unmount them (deepest first)
# before wiping, or rm refuses to cross into them.
if [ -d "$dir" ]; then
  findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
fi
rm -rf --one-file-system "$dir"
mkdir -p "$dir"
t0=$(date +%s)
# minbase: what a minimal Debian 12 install has (apt, dpkg, bash, coreutils), nothing from this machine.
debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
  { tail -20 "$dir.debootstrap.log" >&2; echo "fresh_check: debootstrap failed" >&2; exit 1; }
t_boot=$(($(date +%s) - t0))
echo "fresh_check: debootstrap $(elapsed $t_boot)"

# The archive sources of a standard Debian 12 machine: the release, its updates and security updates.
cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# The network's own certificate authorities (a TLS-inspecting egress proxy installs one here): part of
# the machine's network, not of ortool's set-up; ca-certificates, once setup.sh installs it, adds them.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$dir/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
fi
for m in proc sys dev dev/pts; do
  mkdir -p "$dir/$m"
  mount --bind "/$m" "$dir/$m"
  mounted+=("$dir/$m")
done

# The clone, laid out as on the build machines: the repository in work/main, shared data in work/shared.
mkdir -p "$dir/work"
git clone -q --no-hardlinks "$repo" "$dir/work/main"
git -C "$dir/work/main" checkout -q "$commit"
if [ "$models" -eq 1 ] && [ -d "$repo/../shared/models" ]; then
  mkdir -p "$dir/work/shared"
  cp -r "$repo/../shared/models" "$dir/work/shared/models"
fi

run_in_root() {  # name, command: runs the README command in the chroot with a clean environment
  local name=$1 cmd=$2 start status
  echo "fresh_check: running '$cmd' (log: $dir.$name.log)"
  start=$(date +%s)
  set +e
  chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd /work/main && $cmd" >"$dir.$name.log" 2>&1
  status=$?
  set -e
  local took=$(($(date +%s) - start))
  if [ $status -ne 0 ]; then
    tail -40 "$dir.$name.log" >&2
    echo "fresh_check: FAILED: '$cmd' exited $status after $(elapsed $took)" >&2
    exit 1
  fi
  echo "fresh_check: '$cmd' passed in $(elapsed $took)"
  eval "t_$name=$took"
}

t_demo=0
t_test=0
[ "$only" = "test" ] || run_in_root demo "scripts/demo.sh"
[ "$only" = "demo" ] || run_in_root test "scripts/test.sh"
grep -E '^[0-9]+% tests passed|tests failed' "$dir.test.log" 2>/dev/null || true

echo "fresh_check: PASS on $(date -u '+%Y-%m-%d %H:%M UTC'), commit ${commit:0:12}: debootstrap $(elapsed $t_boot)," \
  "scripts/demo.sh $(elapsed $t_demo), scripts/test.sh $(elapsed $t_test)"
