#!/bin/bash
# orgshield session recorder for AppStream 2.0 Linux (Amazon Linux 2) images.
# AppStream runs it from /opt/appstream/SessionScripts/config.json in the system context (root):
#   orgshield-recorder.sh start   at SessionStart: launches the recorder in the background and returns
#   orgshield-recorder.sh stop    at SessionTermination: stops it and waits for the last upload
# The recorder captures the user's desktop with ffmpeg (x11grab) in segments, restarts ffmpeg when
# the display changes (new size, X server restarted), and uploads each finished segment and a
# metadata file to S3 with the fleet role's credentials (the appstream_machine_role profile).
# Object keys carry a pseudonym (HMAC-SHA256 of the user name, keyed by a secret the fleet role
# reads at start), never the user name; nothing this script prints names the user.
set -uo pipefail

# @settings

readonly STATE_DIR="${ORGSHIELD_RECORDER_STATE_DIR:-/var/lib/orgshield-recorder}"
readonly PID_FILE="$STATE_DIR/recorder.pid"
readonly LOG_FILE="$STATE_DIR/recorder.log"
readonly POLL_SECONDS=2
readonly UPLOAD_ATTEMPTS=4
export AWS_PROFILE="${AWS_PROFILE:-appstream_machine_role}"
export DISPLAY="${DISPLAY:-:0}"

stopping=0
ffmpeg_pid=''
ffmpeg_geometry=''
run_number=0

log() {
  printf '%s orgshield-recorder: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# AppStream writes the session's variables to these files; a script started by the session
# script runner may not have them in its environment.
load_session_variables() {
  local file
  for file in /etc/profile.d/appstream_system_vars.sh /etc/profile.d/appstream_user_vars.sh; do
    # shellcheck disable=SC1090
    if [ -r "$file" ]; then . "$file"; fi
  done
  : "${AppStream_Session_ID:?AppStream_Session_ID is not set: not an AppStream session}"
  : "${AppStream_UserName:?AppStream_UserName is not set: no user in this session}"
  : "${AppStream_Stack_Name:?AppStream_Stack_Name is not set}"
  : "${AppStream_Resource_Name:?AppStream_Resource_Name is not set}"
  : "${AppStream_Image_Arn:?AppStream_Image_Arn is not set}"
  : "${AppStream_Instance_Type:=unknown}"
}

# The image ARN names the region the fleet runs in (arn:aws:appstream:REGION:ACCOUNT:image/NAME).
session_region() {
  local region
  region=$(printf '%s' "$AppStream_Image_Arn" | cut -d: -f4)
  printf '%s' "${AWS_REGION:-$region}"
}

# HMAC-SHA256 (RFC 2104) in bash and sha256sum: the key never appears in a process's arguments,
# where any user of the instance could read it (openssl's -macopt would put it there).
hmac_sha256_hex() {
  local key_hex=$1 message=$2 ipad='' opad='' inner i byte
  while [ "${#key_hex}" -lt 128 ]; do key_hex+='0'; done
  for ((i = 0; i < 128; i += 2)); do
    byte=$((16#${key_hex:i:2}))
    ipad+=$(printf '\\x%02x' $((byte ^ 0x36)))
    opad+=$(printf '\\x%02x' $((byte ^ 0x5c)))
  done
  inner=$({ printf '%b' "$ipad"; printf '%s' "$message"; } | sha256sum | cut -d' ' -f1)
  { printf '%b' "$opad"; printf '%b' "$(printf '%s' "$inner" | sed 's/../\\x&/g')"; } | sha256sum | cut -d' ' -f1
}

read_pseudonym_key() {
  local region=$1
  if [ "$PSEUDONYM_KEY_STORE" = ssm ]; then
    aws ssm get-parameter --region "$region" --name "$PSEUDONYM_KEY_NAME" --with-decryption --query Parameter.Value --output text
  else
    aws secretsmanager get-secret-value --region "$region" --secret-id "$PSEUDONYM_KEY_NAME" --query SecretString --output text
  fi
}

json_string() {
  local text=$1 out='' char i code
  for ((i = 0; i < ${#text}; i++)); do
    char=${text:i:1}
    case "$char" in
      '"') out+='\"' ;;
      "\\") out+="\\\\" ;;
      *)
        printf -v code '%d' "'$char"
        if [ "$code" -lt 32 ] && [ "$code" -ge 0 ]; then printf -v char '\\u%04x' "$code"; fi
        out+=$char
        ;;
    esac
  done
  printf '"%s"' "$out"
}

# The user's name is in the metadata file (read by `orgshield recording list|export`, erased with
# the videos), never in a key or a log line.
write_metadata() {
  local ended_at=$1
  {
    printf '{"recorder":"orgshield","version":1,'
    printf '"stack":%s,"fleet":%s,' "$(json_string "$AppStream_Stack_Name")" "$(json_string "$AppStream_Resource_Name")"
    printf '"sessionId":%s,"user":%s,"userPseudonym":"%s",' "$(json_string "$AppStream_Session_ID")" "$(json_string "$AppStream_UserName")" "$pseudonym"
    printf '"image":%s,"instanceType":%s,' "$(json_string "$AppStream_Image_Arn")" "$(json_string "$AppStream_Instance_Type")"
    printf '"startedAt":"%s","endedAt":%s,"segmentSeconds":%d,"framesPerSecond":%d}\n' "$started_at" "$ended_at" "$SEGMENT_SECONDS" "$FRAMES_PER_SECOND"
  } >"$session_dir/metadata.json"
}

# One object; a failed put is tried again with a growing pause, and a segment that still failed
# stays in the folder for the next sweep (and the last one at stop).
upload() {
  local file=$1 key=$2 content_type=$3 attempt
  for ((attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++)); do
    [ -e "$file" ] || return 1
    if aws s3api put-object --region "$region" --bucket "$bucket" --key "$key_base$key" --body "$file" --content-type "$content_type" >/dev/null; then
      return 0
    fi
    log "upload of $key failed (attempt $attempt of $UPLOAD_ATTEMPTS)"
    sleep "$attempt"
  done
  return 1
}

# A segment is finished once ffmpeg lists it, or once the ffmpeg run that wrote it has ended.
upload_finished_segments() {
  local list file name run
  for list in "$session_dir"/run-*.list; do
    [ -e "$list" ] || continue
    run=${list##*/run-}
    run=${run%.list}
    while IFS= read -r name; do
      if [ -z "$name" ] || [ ! -e "$session_dir/$name" ]; then continue; fi
      if upload "$session_dir/$name" "$name" video/mp4; then rm -f "$session_dir/$name"; fi
    done <"$list"
    if [ "$run" != "$run_number" ] || [ -z "$ffmpeg_pid" ]; then
      for file in "$session_dir"/segment-"$run"-*.mp4; do
        [ -e "$file" ] || continue
        name=${file##*/}
        if upload "$file" "$name" video/mp4; then rm -f "$file"; fi
      done
    fi
  done
}

display_geometry() {
  ffprobe -v error -f x11grab -i "$DISPLAY" -show_entries stream=width,height -of csv=p=0:s=x 2>/dev/null | head -n 1
}

start_ffmpeg() {
  local geometry=$1
  run_number=$(printf '%03d' $((10#$run_number + 1)))
  ffmpeg -nostdin -loglevel error -f x11grab -framerate "$FRAMES_PER_SECOND" -video_size "$geometry" -i "$DISPLAY" \
    -c:v libx264 -preset ultrafast -crf 30 -pix_fmt yuv420p -g "$((FRAMES_PER_SECOND * 2))" \
    -f segment -segment_time "$SEGMENT_SECONDS" -reset_timestamps 1 -segment_format mp4 \
    -segment_format_options movflags=+frag_keyframe+empty_moov \
    -segment_list "$session_dir/run-$run_number.list" -segment_list_type flat \
    "$session_dir/segment-$run_number-%05d.mp4" &
  ffmpeg_pid=$!
  ffmpeg_geometry=$geometry
  log "capturing $DISPLAY at $geometry (run $run_number)"
}

# SIGINT lets ffmpeg close the segment it is writing; a hung one is killed.
stop_ffmpeg() {
  local waited=0
  [ -n "$ffmpeg_pid" ] || return 0
  kill -INT "$ffmpeg_pid" 2>/dev/null
  while kill -0 "$ffmpeg_pid" 2>/dev/null && [ "$waited" -lt 10 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  kill -KILL "$ffmpeg_pid" 2>/dev/null
  wait "$ffmpeg_pid" 2>/dev/null
  ffmpeg_pid=''
}

run_recorder() {
  local key
  load_session_variables
  region=$(session_region)
  account=$(aws sts get-caller-identity --region "$region" --query Account --output text) || { log 'the fleet role credentials are not usable'; exit 1; }
  bucket=${BUCKET_TEMPLATE//\{account\}/$account}
  bucket=${bucket//\{region\}/$region}
  key=$(read_pseudonym_key "$region") || { log "the pseudonym key $PSEUDONYM_KEY_NAME cannot be read"; exit 1; }
  # Stored as base64 of 32 bytes (or as 64 hexadecimal digits); HMAC takes it as hex. Pipes, not arguments.
  if [[ "$key" =~ ^[A-Za-z0-9+/]{43}=$ ]]; then key=$(printf '%s' "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n'); fi
  if ! [[ "$key" =~ ^[0-9a-fA-F]{64}$ ]]; then log "the pseudonym key $PSEUDONYM_KEY_NAME is not 32 bytes in base64 or hexadecimal"; exit 1; fi
  # ASCII lowercase only (LC_ALL=C), as orgshield computes it: one pseudonym per user pool name.
  pseudonym=$(hmac_sha256_hex "$key" "$(printf '%s' "$AppStream_UserName" | LC_ALL=C tr '[:upper:]' '[:lower:]')")
  unset key
  key_base="$KEY_PREFIX$AppStream_Stack_Name/$AppStream_Resource_Name/$pseudonym/$AppStream_Session_ID/"
  session_dir="$STATE_DIR/session"
  mkdir -p "$session_dir"
  chmod 700 "$STATE_DIR" "$session_dir"
  started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  write_metadata null
  upload "$session_dir/metadata.json" metadata.json application/json || log 'the first metadata upload failed; it is sent again at the end'
  log "recording session $AppStream_Session_ID to s3://$bucket/$key_base"

  trap 'stopping=1' TERM INT
  local geometry
  while [ "$stopping" -eq 0 ]; do
    if [ -n "$ffmpeg_pid" ] && ! kill -0 "$ffmpeg_pid" 2>/dev/null; then
      wait "$ffmpeg_pid" 2>/dev/null
      ffmpeg_pid=''
      log 'ffmpeg ended (display gone or changed)'
    fi
    geometry=$(display_geometry)
    if [ -n "$ffmpeg_pid" ] && [ -n "$geometry" ] && [ "$geometry" != "$ffmpeg_geometry" ]; then
      log "display changed from $ffmpeg_geometry to $geometry"
      stop_ffmpeg
    fi
    if [ -z "$ffmpeg_pid" ] && [ -n "$geometry" ]; then start_ffmpeg "$geometry"; fi
    upload_finished_segments
    sleep "$POLL_SECONDS" &
    wait $! 2>/dev/null
  done

  stop_ffmpeg
  upload_finished_segments
  write_metadata "\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""
  upload "$session_dir/metadata.json" metadata.json application/json || log 'the last metadata upload failed'
  rm -f "$PID_FILE"
  log 'recording stopped'
}

start_recorder() {
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  if [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    log 'the recorder is already running'
    return 0
  fi
  # Detached so that AppStream's wait for this script ends at once.
  setsid "$0" run >>"$LOG_FILE" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$PID_FILE"
}

stop_recorder() {
  local pid waited=0
  [ -s "$PID_FILE" ] || return 0
  pid=$(cat "$PID_FILE")
  kill -TERM "$pid" 2>/dev/null || return 0
  # The recorder removes the pid file when it is done (its process may linger as a zombie).
  while [ -e "$PID_FILE" ] && kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_WAIT_SECONDS" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start_recorder ;;
  stop) stop_recorder ;;
  run) run_recorder ;;
  *)
    echo "usage: $0 start|stop|run" >&2
    exit 2
    ;;
esac
