#!/usr/bin/env bash
# spotmax-volume: mounts the group's persistent EBS volume on this instance, wherever spotmax put it.
#
# spotmax tags each member with `spotmax:volume=<volume id>` once the group's persistent volume is
# attached to it: the member's own volume at persistentVolume.device (adopted), or the volume moved from
# an interrupted member (attached at persistentVolume.attachAs). This script reads that tag through the
# instance metadata service (IMDSv2: a session token first), waits for the volume's block device, and
# mounts it. On Nitro instances an EBS volume is an NVMe device whatever name it was attached as (never
# /dev/xvdz); udev links it as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id without the dash>
# ("Amazon EBS and NVMe", EBS user guide), which is how the device is found.
#
# Idempotent: run at every boot (spotmax-volume.service) or by hand, it does nothing when the volume is
# already mounted where it should be, and refuses to mount over anything else. It never formats a disk.
#
# Settings (environment; the systemd unit reads /etc/spotmax/volume.env):
#   SPOTMAX_MOUNT_POINT    where to mount (default /data)
#   SPOTMAX_MOUNT_OPTIONS  mount -o options (default defaults,noatime)
#   SPOTMAX_FSTYPE         mount -t type (default: detected by mount)
#   SPOTMAX_WAIT_SECONDS   how long to wait for the tag and the device (default 900)
#   SPOTMAX_XEN_DEVICE     on Xen instances (no NVMe): the device the volume shows as, e.g. /dev/xvdz
# For tests: SPOTMAX_IMDS (default http://169.254.169.254), SPOTMAX_BY_ID_DIR (default /dev/disk/by-id),
# SPOTMAX_MOUNTS_FILE (default /proc/self/mounts), SPOTMAX_MOUNT_CMD (default mount),
# SPOTMAX_POLL_SECONDS (default 2).
#
# Exit codes: 0 mounted (or already), 2 bad setting, 3 the mount point holds something else,
# 4 timed out (no tag or no device), 5 instance metadata tags are off, 6 mount failed.

set -euo pipefail

MOUNT_POINT="${SPOTMAX_MOUNT_POINT:-/data}"
MOUNT_OPTIONS="${SPOTMAX_MOUNT_OPTIONS:-defaults,noatime}"
FSTYPE="${SPOTMAX_FSTYPE:-}"
WAIT_SECONDS="${SPOTMAX_WAIT_SECONDS:-900}"
XEN_DEVICE="${SPOTMAX_XEN_DEVICE:-}"
IMDS="${SPOTMAX_IMDS:-http://169.254.169.254}"
BY_ID_DIR="${SPOTMAX_BY_ID_DIR:-/dev/disk/by-id}"
MOUNTS_FILE="${SPOTMAX_MOUNTS_FILE:-/proc/self/mounts}"
MOUNT_CMD="${SPOTMAX_MOUNT_CMD:-mount}"
POLL_SECONDS="${SPOTMAX_POLL_SECONDS:-2}"
TAG_KEY="spotmax:volume"

log() { echo "spotmax-volume: $*" >&2; }
fail() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

[[ "$MOUNT_POINT" == /* ]] || fail 2 "SPOTMAX_MOUNT_POINT must be an absolute path, got '$MOUNT_POINT'"
[[ "$WAIT_SECONDS" =~ ^[0-9]+$ ]] || fail 2 "SPOTMAX_WAIT_SECONDS must be whole seconds, got '$WAIT_SECONDS'"
command -v curl >/dev/null || fail 2 "curl is required (install it in the image)"

deadline=$(($(date +%s) + WAIT_SECONDS))
expired() { (($(date +%s) >= deadline)); }

TOKEN=""
# IMDSv2: every read carries a session token obtained with a PUT (templates may require it:
# HttpTokens=required refuses plain GETs with 401).
new_token() {
  TOKEN=$(curl -fsS -m 5 -X PUT "$IMDS/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" 2>/dev/null) || TOKEN=""
  [[ -n "$TOKEN" ]]
}

# Prints the body of an IMDS path; returns 1 when it does not exist (404), 2 on any other failure.
imds_get() {
  local path=$1 out code
  for _ in 1 2; do
    [[ -n "$TOKEN" ]] || new_token || return 2
    out=$(curl -sS -m 5 -w '\n%{http_code}' -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/$path" 2>/dev/null) ||
      return 2
    code=${out##*$'\n'}
    case "$code" in
    200)
      printf '%s' "${out%$'\n'*}"
      return 0
      ;;
    404) return 1 ;;
    401) TOKEN="" ;; # expired token: get a new one, once
    *) return 2 ;;
    esac
  done
  return 2
}

# A token in this shell, so the reads below (in subshells) share it; IMDS may answer late at boot.
until new_token; do
  expired && fail 4 "the instance metadata service at $IMDS did not answer within ${WAIT_SECONDS}s"
  sleep "$POLL_SECONDS"
done

# 1. The volume id, from the instance's tags. spotmax tags a member within a reconcile pass (or at
# once, with a launch lifecycle hook), so wait for it.
volume_id=""
until volume_id=$(imds_get "meta-data/tags/instance/$TAG_KEY"); do
  rc=$?
  if ((rc == 1)) && ! imds_get "meta-data/tags/instance" >/dev/null; then
    # The listing itself is missing: tags are not in the metadata at all.
    fail 5 "instance tags are not in the instance metadata: set MetadataOptions.InstanceMetadataTags=enabled in the launch template"
  fi
  expired && fail 4 "no $TAG_KEY tag on this instance after ${WAIT_SECONDS}s: is its group managed by spotmax with persistentVolume.device set?"
  sleep "$POLL_SECONDS"
done
[[ "$volume_id" =~ ^vol-[0-9a-f]{8,17}$ ]] || fail 2 "$TAG_KEY is '$volume_id', not a volume id"

# 2. Its block device: the NVMe link named after the volume id, or the Xen device name.
link="$BY_ID_DIR/nvme-Amazon_Elastic_Block_Store_${volume_id/-/}"
device=""
until [[ -n "$device" ]]; do
  if [[ -e "$link" ]]; then
    device=$(readlink -f "$link")
  elif [[ -n "$XEN_DEVICE" && -e "$XEN_DEVICE" ]]; then
    device=$(readlink -f "$XEN_DEVICE")
  else
    expired && fail 4 "$volume_id is tagged on this instance but its device did not appear after ${WAIT_SECONDS}s (looked for $link${XEN_DEVICE:+ and $XEN_DEVICE})"
    sleep "$POLL_SECONDS"
  fi
done

# 3. Mount it, unless it already is; never over something else.
mounted_from=""
while read -r src target _; do
  target=${target//\\040/ }
  if [[ "$target" == "$MOUNT_POINT" ]]; then mounted_from=$src; fi
done <"$MOUNTS_FILE"
if [[ -n "$mounted_from" ]]; then
  resolved=$(readlink -f "$mounted_from" 2>/dev/null || echo "$mounted_from")
  if [[ "$resolved" == "$device" ]]; then
    log "$volume_id ($device) is already mounted at $MOUNT_POINT"
    exit 0
  fi
  fail 3 "$MOUNT_POINT is mounted from $mounted_from, not from $volume_id ($device): unmount it (an fstab entry for the template's own volume?) and run again"
fi

mkdir -p "$MOUNT_POINT"
args=(-o "$MOUNT_OPTIONS")
[[ -n "$FSTYPE" ]] && args+=(-t "$FSTYPE")
"$MOUNT_CMD" "${args[@]}" "$device" "$MOUNT_POINT" || fail 6 "mounting $volume_id ($device) at $MOUNT_POINT failed"
log "mounted $volume_id ($device) at $MOUNT_POINT"
