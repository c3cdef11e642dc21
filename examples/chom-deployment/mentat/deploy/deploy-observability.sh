#!/usr/bin/env bash
# deploy-observability.sh: install or upgrade the CHOM observability stack on mentat
# (Prometheus, Alertmanager, Grafana, Loki, node_exporter).
#
# Usage: deploy-observability.sh [--dry-run] [--rollback] [--skip-grafana]
#   --dry-run       show every change without making it
#   --rollback      restore the configs saved by the previous run and restart the services
#   --skip-grafana  leave Grafana untouched
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/../.." && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/lib/common.sh"

readonly PROMETHEUS_VERSION="2.53.2"
readonly PROMETHEUS_SHA256="5ab1ab0fb6b5ba0a0e15e0e0d5a5d9a1f5d0c8d0f2b0a7e1c6b1f6b2d4d7e8f9"
readonly LOKI_VERSION="3.1.1"
readonly BACKUP_ROOT="/var/backups/chom-deploy"
RELEASE_ID="$(date +%Y%m%d%H%M%S)"
readonly RELEASE_ID
ROLLBACK=false
SKIP_GRAFANA=false
WORK_DIR=""

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY_RUN=true ;;
        --rollback) ROLLBACK=true ;;
        --skip-grafana) SKIP_GRAFANA=true ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
    shift
done
export DRY_RUN

cleanup() {
    local rc=$?
    [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]] && rm -rf "${WORK_DIR:?}"
    if ((rc != 0)); then
        log_error "deploy failed (exit ${rc}); run with --rollback to restore the previous configs"
    fi
}
on_error() {
    log_error "command failed at line $1: $2"
}
trap cleanup EXIT
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

install_prometheus() {
    if step_done "prometheus-${PROMETHEUS_VERSION}"; then
        log_info "prometheus ${PROMETHEUS_VERSION} already installed"
        return 0
    fi
    local name="prometheus-${PROMETHEUS_VERSION}.linux-amd64"
    fetch_verified \
        "https://github.com/prometheus/prometheus/releases/download/v${PROMETHEUS_VERSION}/${name}.tar.gz" \
        "$PROMETHEUS_SHA256" "${WORK_DIR}/${name}.tar.gz"
    run tar -xzf "${WORK_DIR}/${name}.tar.gz" -C "$WORK_DIR"
    id -u prometheus >/dev/null 2>&1 || run useradd --system --no-create-home --shell /usr/sbin/nologin prometheus
    run install -m 0755 "${WORK_DIR}/${name}/prometheus" "${WORK_DIR}/${name}/promtool" /usr/local/bin/
    run install -d -o prometheus -g prometheus -m 0750 /var/lib/prometheus /etc/prometheus/rules
    mark_done "prometheus-${PROMETHEUS_VERSION}"
}

install_loki() {
    if step_done "loki-${LOKI_VERSION}"; then
        return 0
    fi
    log_info "installing loki ${LOKI_VERSION}"
    run curl -fsSL -o "${WORK_DIR}/loki.zip" \
        "https://github.com/grafana/loki/releases/download/v${LOKI_VERSION}/loki-linux-amd64.zip"
    run unzip -o -q "${WORK_DIR}/loki.zip" -d "$WORK_DIR"
    id -u loki >/dev/null 2>&1 || run useradd --system --no-create-home --shell /usr/sbin/nologin loki
    run install -m 0755 "${WORK_DIR}/loki-linux-amd64" /usr/local/bin/loki
    run install -d -o loki -g loki -m 0750 /var/lib/loki
    mark_done "loki-${LOKI_VERSION}"
}

install_configs() {
    local backup_dir="${BACKUP_ROOT}/${RELEASE_ID}"
    backup_config /etc/prometheus/prometheus.yml "$backup_dir"
    backup_config /etc/alertmanager/alertmanager.yml "$backup_dir"
    backup_config /etc/loki/config.yml "$backup_dir"
    run install -m 0644 "${REPO_DIR}/mentat/prometheus/prometheus.yml" /etc/prometheus/prometheus.yml
    run install -m 0644 "${REPO_DIR}"/mentat/prometheus/rules/*.yml /etc/prometheus/rules/
    run install -d -m 0755 /etc/alertmanager /etc/loki
    run install -m 0640 -g prometheus "${REPO_DIR}/mentat/alertmanager/alertmanager.yml" /etc/alertmanager/
    run install -m 0644 "${REPO_DIR}/mentat/loki/config.yml" /etc/loki/config.yml
    if [[ "$DRY_RUN" != true ]]; then
        promtool check config /etc/prometheus/prometheus.yml
    fi
    echo "$RELEASE_ID" >"${STATE_DIR}/last-release"
}

configure_basic_auth() {
    # Prometheus and Loki are published through Nginx with basic auth for Grafana Cloud probes.
    local user="${PROMETHEUS_USER:-prometheus}"
    : "${PROMETHEUS_PASS:?set PROMETHEUS_PASS in /root/.chom-deploy.env}"
    if [[ -f /etc/nginx/.htpasswd_prometheus ]]; then
        return 0
    fi
    run htpasswd -bc /etc/nginx/.htpasswd_prometheus "$user" "$PROMETHEUS_PASS"
    run chmod 0640 /etc/nginx/.htpasswd_prometheus
    run chown root:www-data /etc/nginx/.htpasswd_prometheus
}

restart_and_verify() {
    run systemctl daemon-reload
    local svc
    for svc in prometheus alertmanager loki node_exporter; do
        run systemctl enable "$svc"
        run systemctl restart "$svc"
    done
    [[ "$DRY_RUN" == true ]] && return 0
    wait_for_http http://127.0.0.1:9090/-/ready 60
    wait_for_http http://127.0.0.1:9093/-/ready 30
    curl -fsS -o /dev/null http://127.0.0.1:3100/ready || log_warn "loki not ready yet; continuing"
    systemctl is-active --quiet node_exporter
}

deploy_grafana() {
    [[ "$SKIP_GRAFANA" == true ]] && return 0
    if ! dpkg -s grafana >/dev/null 2>&1; then
        run install -d -m 0755 /etc/apt/keyrings
        run curl -fsSL -o /etc/apt/keyrings/grafana.asc https://apt.grafana.com/gpg.key
        gpg --show-keys --with-colons /etc/apt/keyrings/grafana.asc | grep -q "^fpr:*${GRAFANA_KEY_FPR:-0E22EB88E39E12277A7760AE9E439B102CF3C0C6}" ||
            die "unexpected Grafana signing key"
        run apt-get install -y grafana
    fi
    run install -m 0640 -g grafana "${REPO_DIR}"/mentat/grafana/provisioning/datasources/*.yml \
        /etc/grafana/provisioning/datasources/
    run systemctl restart grafana-server
    [[ "$DRY_RUN" == true ]] || wait_for_http http://127.0.0.1:3000/api/health 60
}

rollback() {
    local last
    last=$(cat "${STATE_DIR}/last-release" 2>/dev/null) || die "no previous release recorded"
    local backup_dir="${BACKUP_ROOT}/${last}"
    [[ -d "$backup_dir" ]] || die "no backup in ${backup_dir}"
    log_info "rolling back configs from ${backup_dir}"
    [[ -f "${backup_dir}/prometheus.yml" ]] && run install -m 0644 "${backup_dir}/prometheus.yml" /etc/prometheus/
    [[ -f "${backup_dir}/alertmanager.yml" ]] && run install -m 0640 "${backup_dir}/alertmanager.yml" /etc/alertmanager/
    [[ -f "${backup_dir}/config.yml" ]] && run install -m 0644 "${backup_dir}/config.yml" /etc/loki/
    restart_and_verify
}

main() {
    acquire_lock
    preflight 9090 9093 3000 3100
    if [[ "$ROLLBACK" == true ]]; then
        rollback
        return 0
    fi
    WORK_DIR=$(mktemp -d)
    log_info "deploying observability stack (release ${RELEASE_ID}, dry-run=${DRY_RUN})"
    install_prometheus
    install_loki
    install_configs
    configure_basic_auth
    restart_and_verify
    deploy_grafana
    log_info "observability stack deployed"
}

main "$@"
