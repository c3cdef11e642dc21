#!/usr/bin/env bash
# Install the Prometheus exporters on landsraad and their systemd units.
# Binaries are fetched by scripts/fetch-exporters.sh into /opt/exporters (checksummed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UNIT_SRC="$HERE/../systemd"
EXPORTERS="node_exporter mysqld_exporter phpfpm_exporter nginx_exporter redis_exporter"

for user in node_exporter mysqld_exporter nginx_exporter; do
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
done

install -d -o node_exporter -g node_exporter -m 0755 /var/lib/node_exporter/textfile

for unit in $EXPORTERS; do
    install -m 0644 "$UNIT_SRC/$unit.service" "/etc/systemd/system/$unit.service"
done

# mysqld_exporter: more file descriptors for the per-table collectors
install -d -m 0755 /etc/systemd/system/mysqld_exporter.service.d
cat > /etc/systemd/system/mysqld_exporter.service.d/limits.conf <<'UNIT'
[Service]
LimitNOFILE=4096
UNIT

# Textfile collector: pending package updates, refreshed every 15 minutes
cat > /etc/systemd/system/textfile-apt.service <<'UNIT'
[Unit]
Description=Write pending apt updates for the node_exporter textfile collector

[Service]
Type=oneshot
User=node_exporter
ExecStart=/usr/local/bin/apt-metrics --output /var/lib/node_exporter/textfile/apt.prom
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=/var/lib/node_exporter/textfile
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
CapabilityBoundingSet=
UNIT

cat > /etc/systemd/system/textfile-apt.timer <<'UNIT'
[Unit]
Description=Refresh apt metrics every 15 minutes

[Timer]
OnBootSec=2min
OnUnitActiveSec=15min

[Install]
WantedBy=timers.target
UNIT

systemctl daemon-reload
systemctl enable --now textfile-apt.timer
for unit in $EXPORTERS; do
    systemctl enable --now "$unit.service"
done
