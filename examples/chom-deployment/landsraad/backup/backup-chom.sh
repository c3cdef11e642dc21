#!/usr/bin/env bash
# Nightly backup of the CHOM application on landsraad: MySQL, Redis snapshot and app storage.
# Installed as /usr/local/bin/chom-backup by landsraad/backup/install-backup.sh, run from
# /etc/cron.d/chom-backup. Credentials come from /root/.my.cnf (never on the command line).
set -euo pipefail

BACKUP_ROOT="${BACKUP_ROOT:-/var/backups/chom}"
APP_DIR=/var/www/chom
RETENTION_DAYS=14
REMOTE="backup@51.254.139.78:/srv/backups/landsraad"
GPG_RECIPIENT="ops@arewel.com"
TEXTFILE_DIR=/var/lib/prometheus/node-exporter
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
DEST="${BACKUP_ROOT}/${STAMP}"

log() { logger -t chom-backup -- "$*"; echo "$(date -Is) $*"; }

write_metrics() {
    local status="$1" last
    last="$(cat "${TEXTFILE_DIR}/.chom_backup_last_success" 2>/dev/null || echo 0)"
    if [ "${status}" = 1 ]; then
        last="$(date +%s)"
        echo "${last}" > "${TEXTFILE_DIR}/.chom_backup_last_success"
    fi
    cat > "${TEXTFILE_DIR}/chom_backup.prom.$$" <<METRICS
# HELP chom_backup_last_success_timestamp_seconds Unix time of the last successful backup.
# TYPE chom_backup_last_success_timestamp_seconds gauge
chom_backup_last_success_timestamp_seconds ${last}
# HELP chom_backup_status 1 if the last backup run succeeded.
# TYPE chom_backup_status gauge
chom_backup_status ${status}
METRICS
    mv "${TEXTFILE_DIR}/chom_backup.prom.$$" "${TEXTFILE_DIR}/chom_backup.prom"
}

trap 'log "backup FAILED at line ${LINENO}"; write_metrics 0' ERR

umask 077
mkdir -p "${DEST}"

log "dumping MySQL"
mysqldump --defaults-extra-file=/root/.my.cnf --single-transaction --routines --triggers \
    --all-databases | gzip -9 > "${DEST}/mysql-all.sql.gz"
gzip -t "${DEST}/mysql-all.sql.gz"
zcat "${DEST}/mysql-all.sql.gz" | tail -n 1 | grep -q "Dump completed"

log "snapshotting Redis"
redis-cli --rdb "${DEST}/redis-dump.rdb" >/dev/null

log "archiving app storage"
tar -czf "${DEST}/storage.tar.gz" -C "${APP_DIR}" storage/app
tar -tzf "${DEST}/storage.tar.gz" >/dev/null

log "encrypting"
for f in "${DEST}"/*; do
    gpg --batch --yes --encrypt --recipient "${GPG_RECIPIENT}" --output "${f}.gpg" "${f}"
    rm -f "${f}"
done
(cd "${DEST}" && sha256sum ./*.gpg > SHA256SUMS)
(cd "${DEST}" && sha256sum -c SHA256SUMS >/dev/null)

log "copying off-site to mentat"
rsync -a --partial --timeout=300 "${DEST}" "${REMOTE}/"

log "pruning backups older than ${RETENTION_DAYS} days"
find "${BACKUP_ROOT}" -mindepth 1 -maxdepth 1 -type d -mtime +"${RETENTION_DAYS}" -exec rm -rf {} +

write_metrics 1
log "backup complete: ${DEST}"
