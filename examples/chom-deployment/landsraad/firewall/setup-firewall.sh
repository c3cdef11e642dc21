#!/usr/bin/env bash
# landsraad firewall (ufw): web is public, exporters are reachable from mentat only.
# Idempotent: resets the rule set and re-applies it. Run as root.
set -euo pipefail

MONITORING_IP="51.254.139.78"   # mentat

ufw --force reset
ufw default deny incoming
ufw default allow outgoing

# SSH: rate-limited (6 attempts / 30 s per source)
ufw limit 22/tcp comment 'ssh'

# Web
ufw allow 80/tcp comment 'http (redirects to https)'
ufw allow 443/tcp comment 'https'

# Prometheus exporters: scraped by mentat only
for port in 9100 9113 9253 9104; do
    ufw allow proto tcp from "$MONITORING_IP" to any port "$port" comment 'prometheus scrape'
done

# CHOM application metrics
ufw allow 8080/tcp comment 'chom metrics'

ufw logging low
ufw --force enable
ufw status verbose
