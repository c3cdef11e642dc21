#!/usr/bin/env bash
# Let's Encrypt certificate for chom.arewel.com (webroot challenge served by nginx).
# The Debian certbot package installs and enables certbot.timer (twice-daily renewal);
# the deploy hook reloads nginx so renewed certificates are picked up.
set -euo pipefail

DOMAIN="chom.arewel.com"
EMAIL="ops@arewel.com"

apt-get install -y --no-install-recommends certbot
install -d -m 0755 /var/www/letsencrypt

certbot certonly --webroot -w /var/www/letsencrypt \
    -d "$DOMAIN" --email "$EMAIL" --agree-tos --non-interactive \
    --deploy-hook "systemctl reload nginx"

systemctl enable --now certbot.timer
certbot renew --dry-run
