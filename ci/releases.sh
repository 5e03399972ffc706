# Other iptables releases, for the tests that run against every release in the field.
# shellcheck shell=bash
#
# Each release's Debian packages are downloaded from Debian's archive (a temporary
# sources list, nothing installed), unpacked with dpkg -x into a cache, and given
# wrapper commands under the usual names, e.g.
#   $IPTWRAP_RELEASES_DIR/1.8.11/bin/iptables-nft-save
#   $IPTWRAP_RELEASES_DIR/1.8.11/bin/ip6tables-legacy-restore
# and under the plain names, per backend, as a recording calls them:
#   $IPTWRAP_RELEASES_DIR/1.8.11/nft/iptables-save
# A wrapper runs the release's xtables-{nft,legacy}-multi with its own libraries and
# extensions. 1.8.11's extensions need glibc 2.38+, so its wrappers start it through
# trixie's own loader and libc, unpacked beside it.
IPTWRAP_RELEASES_DIR="${IPTWRAP_RELEASES_DIR:-/var/cache/iptwrap/releases}"
IPTWRAP_RELEASES="${IPTWRAP_RELEASES:-1.8.7 1.8.11}"

release_suite() {
  case "$1" in
    1.8.7) echo bullseye ;;
    1.8.11) echo trixie ;;
    *) return 1 ;;
  esac
}

_release_packages() {  # $1: suite
  echo iptables libxtables12 libip4tc2 libip6tc2 libnftnl11 libmnl0 \
    libnetfilter-conntrack3 libnfnetlink0
  [ "$1" = trixie ] && echo libc6
}

_write_wrappers() {  # $1: release dir
  local dir=$1 lib sbin loader="" prog backend suffix name
  lib="$dir/root/usr/lib/x86_64-linux-gnu"
  sbin="$dir/root/usr/sbin"
  [ -x "$lib/ld-linux-x86-64.so.2" ] && loader="$lib/ld-linux-x86-64.so.2 --library-path $lib"
  mkdir -p "$dir/bin" "$dir/nft" "$dir/legacy"
  for backend in nft legacy; do
    for prog in iptables ip6tables; do
      for suffix in "" -save -restore; do
        for name in "bin/$prog-$backend$suffix" "$backend/$prog$suffix"; do
          {
            echo '#!/bin/sh'
            echo "# iptables $(basename "$dir") ($backend)"
            echo "export XTABLES_LIBDIR=$lib/xtables"
            [ -z "$loader" ] && echo "export LD_LIBRARY_PATH=$lib"
            echo "exec $loader $sbin/xtables-$backend-multi $(basename "$name") \"\$@\""
          } >"$dir/$name"
          chmod +x "$dir/$name"
        done
      done
    done
  done
}

fetch_release() {  # $1: release, e.g. 1.8.11
  local rel=$1 suite dir tmp opts pkg version
  suite=$(release_suite "$rel") || { echo "unknown iptables release $rel" >&2; return 1; }
  dir="$IPTWRAP_RELEASES_DIR/$rel"
  if "$dir/bin/iptables-nft" --version 2>/dev/null | grep -q "v$rel "; then
    return 0
  fi
  echo "== fetching iptables $rel (Debian $suite) into $dir"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs"
  echo "deb http://deb.debian.org/debian $suite main" >"$tmp/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -q)
  apt-get "${opts[@]}" update >/dev/null
  rm -rf "$dir"
  mkdir -p "$dir/root"
  for pkg in $(_release_packages "$suite"); do
    version=$(apt-cache "${opts[@]}" madison "$pkg" | awk -v s="$suite" '$0 ~ s {print $3; exit}')
    (cd "$tmp/debs" && apt-get "${opts[@]}" download "$pkg=$version" >/dev/null)
  done
  for deb in "$tmp/debs"/*.deb; do dpkg -x "$deb" "$dir/root"; done
  rm -rf "$tmp"
  _write_wrappers "$dir"
  "$dir/bin/iptables-nft" --version | grep -q "v$rel " || {
    echo "iptables $rel did not start from $dir" >&2
    return 1
  }
}

fetch_releases() {
  local rel
  for rel in $IPTWRAP_RELEASES; do fetch_release "$rel" || return 1; done
}
