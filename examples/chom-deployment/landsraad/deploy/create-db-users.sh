#!/usr/bin/env bash
# MySQL users of the CHOM deployment; passwords come from root-only files under /etc/chom/secrets.
set -euo pipefail

secret() { cat "/etc/chom/secrets/$1"; }

mysql --defaults-file=/root/.my.cnf <<SQL
CREATE USER IF NOT EXISTS 'chom'@'localhost' IDENTIFIED BY '$(secret db_app_password)';
GRANT SELECT, INSERT, UPDATE, DELETE ON chom.* TO 'chom'@'localhost';
CREATE USER IF NOT EXISTS 'chom_deploy'@'localhost' IDENTIFIED BY '$(secret db_deploy_password)';
GRANT ALL PRIVILEGES ON chom.* TO 'chom_deploy'@'localhost';
CREATE USER IF NOT EXISTS 'mysqld_exporter'@'127.0.0.1' IDENTIFIED BY '$(secret db_exporter_password)' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'mysqld_exporter'@'127.0.0.1';
SQL
