# shellcheck shell=bash
# Shared helpers for the mentat deploy scripts: logging, locking, dry-run, preflight, health checks.
# Sourced by deploy-observability.sh; never executed directly.

readonly LOG_DIR="/var/log/chom-deploy"
readonly LOCK_FILE="/var/lock/chom-deploy.lock"
readonly STATE_DIR="/var/lib/chom-deploy/state"
LOG_FILE="${LOG_DIR}/deploy-$(date +%Y%m%d).log"
DRY_RUN="${DRY_RUN:-false}"

log() {
    local level="$1"
    shift
    mkdir -p "$LOG_DIR"
    printf '%s [%s] %s\n' "$(date -Is)" "$level" "$*" | tee -a "$LOG_FILE" >&2
}
log_info() { log INFO "$@"; }
log_warn() { log WARN "$@"; }
log_error() { log ERROR "$@"; }

die() {
    log_error "$@"
    exit 1
}

# Run a mutating command, or only show it with --dry-run.
run() {
    if [[ "$DRY_RUN" == true ]]; then
        log_info "[dry-run] $*"
        return 0
    fi
    "$@"
}

acquire_lock() {
    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>"$LOCK_FILE"
    if ! flock -n 9; then
        die "another deploy is running (lock ${LOCK_FILE})"
    fi
}

# State tracking: each step records completion so a re-run skips it.
step_done() { [[ -f "${STATE_DIR}/$1.done" ]]; }
mark_done() {
    [[ "$DRY_RUN" == true ]] && return 0
    mkdir -p "$STATE_DIR"
    date -Is >"${STATE_DIR}/$1.done"
}

require_commands() {
    local missing=()
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    ((${#missing[@]} == 0)) || die "missing required commands: ${missing[*]}"
}

preflight() {
    [[ $EUID -eq 0 ]] || die "must run as root"
    # shellcheck source=/dev/null
    . /etc/os-release
    [[ "${ID}" == "debian" && "${VERSION_ID}" == "12" ]] || die "unsupported OS ${ID} ${VERSION_ID}"
    local mem_kb free_kb
    mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
    ((mem_kb >= 2000000)) || die "need at least 2 GB RAM"
    free_kb=$(df --output=avail -k /var/lib | tail -1)
    ((free_kb >= 10000000)) || die "need 10 GB free on /var/lib"
    local port
    for port in "$@"; do
        if ss -ltnH "sport = :${port}" | grep -q .; then
            systemctl is-active --quiet "$(port_owner "$port")" || die "port ${port} is taken"
        fi
    done
    require_commands curl tar sha256sum systemctl ss flock install
}

port_owner() {
    case "$1" in
        9090) echo prometheus ;;
        9093) echo alertmanager ;;
        3000) echo grafana-server ;;
        3100) echo loki ;;
        *) echo unknown ;;
    esac
}

# Wait until an HTTP endpoint answers 2xx; returns non-zero after the timeout.
wait_for_http() {
    local url="$1" timeout="${2:-30}" i
    for ((i = 0; i < timeout; i++)); do
        if curl -fsS -o /dev/null "$url"; then
            return 0
        fi
        sleep 1
    done
    log_error "health check failed: ${url}"
    return 1
}

# Download a release tarball into a directory and verify its pinned sha256.
fetch_verified() {
    local url="$1" sha256="$2" dest="$3"
    run curl -fsSL --retry 3 -o "$dest" "$url"
    [[ "$DRY_RUN" == true ]] && return 0
    echo "${sha256}  ${dest}" | sha256sum -c - >/dev/null || die "checksum mismatch for ${url}"
}

# Keep a copy of a config before it is replaced; used by --rollback.
backup_config() {
    local file="$1" backup_dir="$2"
    [[ -e "$file" ]] || return 0
    run install -d -m 0750 "$backup_dir"
    run cp -a "$file" "${backup_dir}/"
}
