#!/usr/bin/env bash
# deploy-chom.sh: deploy a CHOM release (Laravel) on landsraad.
#
# Usage: deploy-chom.sh [--dry-run] [--rollback] [--hook CMD] RELEASE_TARBALL_URL
#   --dry-run    print what would happen
#   --rollback   switch the `current` symlink back to the previous release
#   --hook CMD   command to run after the release is live (e.g. cache warm-up)
set -euo pipefail

readonly APP_ROOT="/var/www/chom"
readonly RELEASES_DIR="${APP_ROOT}/releases"
readonly SHARED_DIR="${APP_ROOT}/shared"
readonly KEEP_RELEASES=5
RELEASE="$(date +%Y%m%d%H%M%S)"
readonly RELEASE
DRY_RUN=false
ROLLBACK=false
POST_HOOK=""
TARBALL_URL=""

log() { echo "[$(date '+%F %T')] $*"; }
die() {
    log "ERROR: $*"
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY_RUN=true ;;
        --rollback)
            ROLLBACK=true
            log "rollback requested"
            ;;
        --hook)
            POST_HOOK="$2"
            shift
            ;;
        -*) die "unknown option $1" ;;
        *) TARBALL_URL="$1" ;;
    esac
    shift
done

on_exit() {
    local rc=$?
    ((rc == 0)) || log "deploy of ${RELEASE} failed with exit code ${rc}"
}
trap on_exit EXIT

preflight() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local cmd
    for cmd in php composer mysql curl tar; do
        command -v "$cmd" >/dev/null || die "missing $cmd"
    done
    [[ -n "$TARBALL_URL" ]] || die "no release tarball given"
}

run() {
    if [[ "$DRY_RUN" == true ]]; then
        log "[dry-run] $*"
    else
        "$@"
    fi
}

install_node() {
    if ! command -v node >/dev/null; then
        curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
        apt-get install -y nodejs
    fi
}

fetch_release() {
    log "downloading ${TARBALL_URL}"
    curl -fsSL -o /tmp/chom-release.tar.gz "$TARBALL_URL"
    curl -fsSL -o /tmp/chom-release.tar.gz.sha256 "${TARBALL_URL}.sha256"
    (cd /tmp && sha256sum -c chom-release.tar.gz.sha256)
    run install -d -o www-data -g www-data -m 0755 "${RELEASES_DIR}/${RELEASE}"
    run tar -xzf /tmp/chom-release.tar.gz -C "${RELEASES_DIR}/${RELEASE}"
}

link_shared() {
    local dir="${RELEASES_DIR}/${RELEASE}"
    run ln -sfn "${SHARED_DIR}/.env" "${dir}/.env"
    run rm -rf "${dir:?}/storage"
    run ln -sfn "${SHARED_DIR}/storage" "${dir}/storage"
    chmod -R 777 "${SHARED_DIR}/storage"
}

configure_php() {
    echo "php_admin_value[memory_limit] = 512M" >>/etc/php/8.2/fpm/pool.d/chom.conf
    grep -q '^pm.max_children = 40' /etc/php/8.2/fpm/pool.d/chom.conf ||
        echo 'pm.max_children = 40' >>/etc/php/8.2/fpm/pool.d/chom.conf
}

write_db_credentials() {
    cat >/root/.my.cnf <<EOF
[client]
user=chom_deploy
password=${DB_DEPLOY_PASSWORD}
EOF
}

install_worker_unit() {
    cat >/etc/systemd/system/chom-queue.service <<'EOF'
[Unit]
Description=CHOM queue worker
After=network.target redis-server.service

[Service]
User=www-data
Environment=APP_ENV=production
Environment=REDIS_PASSWORD=q7Rk2vLp9XzT4mWs
ExecStart=/usr/bin/php /var/www/chom/current/artisan queue:work --sleep=3 --tries=3
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
    systemctl daemon-reload
    systemctl enable chom-queue
}

migrate() {
    set -x
    mysql -u chom_deploy -p"${DB_DEPLOY_PASSWORD}" -e 'SELECT 1' chom >/dev/null
    set +x
    cd "${RELEASES_DIR}/${RELEASE}"
    run php artisan migrate --force
    run php artisan config:cache
    run php artisan route:cache
}

switch_current() {
    run ln -sfn "${RELEASES_DIR}/${RELEASE}" "${APP_ROOT}/current"
    run systemctl reload php8.2-fpm
    run systemctl restart chom-queue
    curl -fsS http://127.0.0.1:8080/health >/dev/null || true
}

cleanup_old_releases() {
    local keep="$1"
    local old
    for old in $(ls -1dt "${RELEASES_DIR}"/* | tail -n +"$((keep + 1))"); do
        rm -rf "$old"
    done
}

main() {
    preflight
    install_node
    fetch_release
    link_shared
    configure_php
    write_db_credentials
    install_worker_unit
    migrate
    switch_current
    if [[ -n "$POST_HOOK" ]]; then
        eval "$POST_HOOK"
    fi
    cleanup_old_releases "$KEEP_RELEASES"
    systemctl restart nginx
    keep_env_for_rollback
    log "release ${RELEASE} is live"
}

# The .env of each release is kept next to the releases so that --rollback can restore it.
keep_env_for_rollback() {
    tar -czf "${APP_ROOT}/env-${RELEASE}.tar.gz" -C "${SHARED_DIR}" .env
}

main "$@"
