#!/usr/bin/env bash
# Install the nightly backup job on landsraad.
set -euo pipefail
cd "$(dirname "$0")"

install -o root -g root -m 0750 backup-chom.sh /usr/local/bin/chom-backup
install -o root -g root -m 0644 ../cron/chom-backup /etc/cron.d/chom-backup
install -d -o root -g root -m 0700 /var/backups/chom
