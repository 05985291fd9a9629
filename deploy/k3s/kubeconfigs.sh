#!/usr/bin/env bash
# Usage: kubeconfigs.sh FOLDER CLUSTER...   (the k3s-kubeconfigs service of docker-compose.yaml)
#
# Each k3s container writes its admin kubeconfig to FOLDER/CLUSTER.raw.yaml
# (K3S_KUBECONFIG_OUTPUT). k3s always names the API server https://127.0.0.1:6443 in it:
# right inside that container, wrong from any other one. This writes FOLDER/CLUSTER.yaml
# with the server rewritten to https://CLUSTER:6443, the compose service name, which the
# API server's certificate also covers (k3s is started with --tls-san=CLUSTER).
# Waits up to KUBECONFIG_WAIT_SECONDS (default 300) for each raw file.
set -euo pipefail

folder=$1
shift
for cluster in "$@"; do
    raw="$folder/$cluster.raw.yaml"
    waited=0
    until [ -s "$raw" ]; do
        if [ "$waited" -ge "${KUBECONFIG_WAIT_SECONDS:-300}" ]; then
            echo "no kubeconfig from $cluster at $raw after ${waited}s" >&2
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
    sed -E "s#server: https://(127\.0\.0\.1|localhost):([0-9]+)#server: https://$cluster:\2#" "$raw" > "$folder/$cluster.yaml.tmp"
    if ! grep -q "server: https://$cluster:" "$folder/$cluster.yaml.tmp"; then
        echo "no https://127.0.0.1 server to rewrite in $raw" >&2
        exit 1
    fi
    chmod 644 "$folder/$cluster.yaml.tmp"
    mv "$folder/$cluster.yaml.tmp" "$folder/$cluster.yaml"
    echo "$folder/$cluster.yaml: server https://$cluster"
done
