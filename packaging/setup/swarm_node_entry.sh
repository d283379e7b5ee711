#!/bin/sh
# PID 1's child in a swarm node container (see swarm_node_image.sh): make the container's own
# cgroups writable, then run dockerd with the arguments given.
# The node runs with every capability this machine grants instead of --privileged (here the
# host's bounding set lacks CAP_SYS_RESOURCE, so runc refuses --privileged), which leaves /sys
# and the cgroup controllers read-only: remount /sys and mount each controller afresh. With
# --cgroupns=private a fresh mount is this container's own subtree, so the inner engine's
# containers live, and are limited, inside the node's cgroup.
set -eu
mount -o remount,rw /sys
for dir in /sys/fs/cgroup/*; do
  name="$(basename "$dir")"
  opts="$name"
  [ "$name" = systemd ] && opts="none,name=systemd"
  umount "$dir"
  mount -t cgroup -o "$opts" cgroup "$dir"
done
exec dockerd "$@"
