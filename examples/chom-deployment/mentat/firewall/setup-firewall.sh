#!/usr/bin/env bash
# mentat firewall (ufw): Prometheus, Alertmanager and Loki listen for local use only;
# Grafana is reachable from the ops VPN; landsraad pushes logs to Loki.
set -euo pipefail

LANDSRAAD_IP="51.77.150.96"
OPS_VPN="10.8.0.0/24"

ufw --force reset
ufw default deny incoming
ufw default allow outgoing

ufw limit 22/tcp comment 'ssh'
ufw allow proto tcp from "$OPS_VPN" to any port 3000 comment 'grafana via ops vpn'
ufw allow proto tcp from "$LANDSRAAD_IP" to any port 3100 comment 'promtail push to loki'
ufw allow proto tcp from "$LANDSRAAD_IP" to any port 9115 comment 'blackbox probes'

ufw --force enable
