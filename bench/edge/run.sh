#!/usr/bin/env bash
# Edge gateway throughput benchmark: nginx (1 worker), HAProxy (1 thread) and the Meridian edge
# (1 worker thread) as round-robin reverse proxies in front of the same upstream (an nginx serving
# a small static file on three loopback ports, keep-alive), driven by wrk. Prints req/s, p50 and
# p99 for each proxy and Meridian's ratios to nginx.
#
# usage: bench/edge/run.sh [--build DIR] [--duration S] [--connections N] [--rounds N] [--tls]
#                          [--tls-upstream]
# --tls: every proxy terminates HTTPS (the test certificate tests/sync/tls/node.pem, EC P-256)
# and wrk speaks HTTPS to it. --tls-upstream: the upstream serves HTTPS too, and every proxy
# speaks TLS to it, verifying its certificate against tests/sync/tls/ca.pem (nginx
# proxy_ssl_verify, HAProxy verify required, the edge's upstream_ca_file).
# Everything runs as the current user, with configs in a temp dir, on loopback ports, and is
# stopped on exit. Every wrk run is bounded by `timeout`. EDGE_ARGS adds options to the edge
# (e.g. EDGE_ARGS="--access-log /tmp/edge-access.log" to measure the cost of the access log, or
# EDGE_ARGS="--busy-poll-us 0" to switch busy polling off);
# WRK_ARGS adds options to the measured wrk runs (e.g. WRK_ARGS="-H 'Connection: close'" for a
# new connection, and with --tls a new handshake, per request).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
duration=10
connections=64
rounds=3
tls=
tls_upstream=
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    --tls-upstream) tls_upstream=1; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

edge_bin="$build/bin/meridian-bench-edge"
for tool in wrk nginx haproxy curl "$edge_bin"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$tool" ]; then
        echo "run.sh: $tool not found (scripts/install-deps.sh; build with the default preset)" >&2
        exit 2
    fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

dir=$(mktemp -d /tmp/meridian-bench-edge.XXXXXX)
chmod 755 "$dir" # nginx workers started as root run as nobody
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -z "${KEEP:-}" ]; then rm -rf "$dir"; else echo "kept $dir" >&2; fi
}
trap cleanup EXIT INT TERM

# A free loopback port chosen by the OS.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

wait_ready() { # url
    local deadline=$((SECONDS + 10))
    until curl -kfsS -o /dev/null "$1" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "run.sh: $1 did not become ready" >&2
            exit 1
        fi
        sleep 0.05
    done
}

up1=$(free_port); up2=$(free_port); up3=$(free_port)
p_nginx=$(free_port); p_haproxy=$(free_port); p_edge=$(free_port); p_edge_plain=$(free_port)
cert="$root/tests/sync/tls/node.pem"
key="$root/tests/sync/tls/node.key"
ca="$root/tests/sync/tls/ca.pem"
scheme=http
nginx_listen="127.0.0.1:$p_nginx"
haproxy_bind="127.0.0.1:$p_haproxy"
edge_listen=(--listen "127.0.0.1:$p_edge")
if [ -n "$tls" ]; then
    scheme=https
    cat "$cert" "$key" >"$dir/haproxy.pem"
    nginx_listen="127.0.0.1:$p_nginx ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:1m"
    haproxy_bind="127.0.0.1:$p_haproxy ssl crt $dir/haproxy.pem alpn http/1.1"
    edge_listen=(--listen "127.0.0.1:$p_edge_plain" --tls-cert "$cert" --tls-key "$key"
        --tls-listen "127.0.0.1:$p_edge")
fi
up_scheme=http
up_ssl=
nginx_upstream_tls=
haproxy_server_tls=
if [ -n "$tls_upstream" ]; then
    up_scheme=https
    up_ssl=" ssl"
    nginx_upstream_tls="proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $ca;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;"
    haproxy_server_tls=" ssl verify required ca-file $ca verifyhost localhost"
fi

mkdir -p "$dir/up/html" "$dir/up/logs" "$dir/nx/logs"
head -c 612 /dev/zero | tr '\0' 'm' >"$dir/up/html/index.html"

cat >"$dir/up/nginx.conf" <<CONF
worker_processes 1;
pid $dir/up/nginx.pid;
error_log $dir/up/logs/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    open_file_cache max=16;
    server {
        listen 127.0.0.1:$up1$up_ssl; listen 127.0.0.1:$up2$up_ssl; listen 127.0.0.1:$up3$up_ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        root $dir/up/html;
        location / { add_header X-Meridian-Region bench; }
    }
}
CONF

cat >"$dir/nx/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nx/nginx.pid;
error_log $dir/nx/logs/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream regions {
        server 127.0.0.1:$up1; server 127.0.0.1:$up2; server 127.0.0.1:$up3;
        keepalive 256;
        keepalive_requests 1000000;
    }
    server {
        listen $nginx_listen;
        location / {
            proxy_pass $up_scheme://regions;
            $nginx_upstream_tls
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
CONF

cat >"$dir/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn 8192
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    option forwardfor
    http-reuse always
frontend fe
    bind $haproxy_bind
    default_backend regions
backend regions
    balance roundrobin
    server r1 127.0.0.1:$up1$haproxy_server_tls
    server r2 127.0.0.1:$up2$haproxy_server_tls
    server r3 127.0.0.1:$up3$haproxy_server_tls
CONF

"$NGINX" -p "$dir/up" -c "$dir/up/nginx.conf" -g 'daemon off;' 2>"$dir/up/logs/stderr" &
pids+=($!)
wait_ready "$up_scheme://127.0.0.1:$up1/"
"$NGINX" -p "$dir/nx" -c "$dir/nx/nginx.conf" -g 'daemon off;' 2>"$dir/nx/logs/stderr" &
pids+=($!)
nginx_master=$!
"$HAPROXY" -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
haproxy_pid=$!
"$edge_bin" "${edge_listen[@]}" --workers 1 \
    --region "r1=$up_scheme://127.0.0.1:$up1" --region "r2=$up_scheme://127.0.0.1:$up2" \
    --region "r3=$up_scheme://127.0.0.1:$up3" ${tls_upstream:+--upstream-ca "$ca"} ${EDGE_ARGS:-} >"$dir/edge.log" 2>&1 &
pids+=($!)
edge_pid=$!
wait_ready "$scheme://127.0.0.1:$p_nginx/"
wait_ready "$scheme://127.0.0.1:$p_haproxy/"
wait_ready "$scheme://127.0.0.1:$p_edge/"

# wrk's "Latency Distribution" prints e.g. "50%  310.00us"; convert to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") print n; else if (u == "ms") print n * 1000;
        else if (u == "s") print n * 1000000; else print n }'
}

# CPU time (user + system, all threads) a process has used so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_wrk() { # name port pid -> "rps p50_us p99_us errors cpu_us_per_request"
    local out t0 t1 reqs
    t0=$(cpu_ticks "$3")
    out=$(eval timeout $((duration + 15)) wrk -t1 -c"$connections" -d"${duration}s" --latency \
        "${WRK_ARGS:-}" "$scheme://127.0.0.1:$2/" 2>&1) || { echo "run.sh: wrk against $1 failed: $out" >&2; exit 1; }
    t1=$(cpu_ticks "$3")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    local rps p50 p99 errs
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    errs=$(awk '/Non-2xx or 3xx responses:/ {s += $NF} /Socket errors:/ {
        for (i = 4; i <= NF; i += 2) s += $i } END {print s + 0}' <<<"$out")
    echo "$rps $p50 $p99 $errs $(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
        'BEGIN { printf "%.2f", (n > 0 ? d * 1e6 / hz / n : 0) }')"
}

echo "edge benchmark: wrk -t1 -c$connections -d${duration}s, $rounds rounds, upstream nginx (1 worker, 612-byte file, 3 ports)${tls:+, clients over HTTPS}${tls_upstream:+, proxies to the upstream over HTTPS}"
echo "machine: $(nproc) cores, $(uname -r)"
if [ -n "$tls" ]; then
    for n in nginx haproxy meridian; do
        port_var="p_$n"; [ "$n" = meridian ] && port_var=p_edge
        printf '  %-9s %s\n' "$n" "$(curl -ksv -o /dev/null "https://127.0.0.1:${!port_var}/" 2>&1 |
            awk '/SSL connection using/ {sub(/.*using /, ""); print}')"
    done
fi
declare -A best_rps best_p50 best_p99 errors
names=(nginx haproxy meridian)
declare -A ports=([nginx]=$p_nginx [haproxy]=$p_haproxy [meridian]=$p_edge)
# The process whose CPU each proxy's rounds are charged to: nginx's single worker, not its master.
nginx_worker=$(pgrep -P "$nginx_master" | head -n1)
declare -A procs=([nginx]=$nginx_worker [haproxy]=$haproxy_pid [meridian]=$edge_pid)
# Warm up every proxy (connection pools, caches) before measuring.
for n in "${names[@]}"; do
    timeout 10 wrk -t1 -c"$connections" -d2s "$scheme://127.0.0.1:${ports[$n]}/" >/dev/null 2>&1 || true
done
# Interleave rounds so that drift on a shared machine hits every proxy alike, and rotate the
# order each round so that no proxy always runs right after the same one; keep each proxy's
# median round (by req/s).
declare -A samples cpus
for ((r = 1; r <= rounds; r++)); do
    for ((i = 0; i < ${#names[@]}; i++)); do
        n=${names[$(((i + r - 1) % ${#names[@]}))]}
        read -r rps p50 p99 errs cpu < <(run_wrk "$n" "${ports[$n]}" "${procs[$n]}")
        printf '  round %d %-9s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  errors %d  cpu %6.2f us/req\n' \
            "$r" "$n" "$rps" "$p50" "$p99" "$errs" "$cpu"
        samples[$n]+="$rps $p50 $p99 $errs"$'\n'
        cpus[$n]+="$cpu"$'\n'
    done
done

echo
# CPU per request is the proxy's own cost (user + system time of its process per request served):
# on a machine where wrk, the upstream and the proxy share the cores it moves far less between
# rounds than req/s does.
median_line() { # lines, one per round, sorted by their first number -> the median round's line
    sort -n <<<"$1" | sed '/^$/d' | awk -v k=$(((rounds + 1) / 2)) 'NR == k'
}
printf '%-9s %12s %10s %10s %8s %14s\n' proxy req/s p50_us p99_us errors cpu_us/req
declare -A best_cpu
for n in "${names[@]}"; do
    read -r rps p50 p99 errs < <(median_line "${samples[$n]}")
    best_cpu[$n]=$(median_line "${cpus[$n]}")
    best_rps[$n]=$rps; best_p50[$n]=$p50; best_p99[$n]=$p99; errors[$n]=$errs
    printf '%-9s %12.0f %10.0f %10.0f %8d %14.2f\n' "$n" "$rps" "$p50" "$p99" "$errs" "${best_cpu[$n]}"
done
echo
awk -v mr="${best_rps[meridian]}" -v nr="${best_rps[nginx]}" -v hr="${best_rps[haproxy]}" \
    -v mp="${best_p99[meridian]}" -v np="${best_p99[nginx]}" \
    -v mc="${best_cpu[meridian]}" -v nc="${best_cpu[nginx]}" 'BEGIN {
    printf "meridian/nginx req/s: %.2fx (target >= 1.00)  %s\n", mr / nr, (mr >= nr ? "met" : "MISSED");
    printf "meridian/nginx p99:   %.2fx (target <= 1.20)  %s\n", mp / np, (mp <= 1.2 * np ? "met" : "MISSED");
    printf "meridian/haproxy req/s: %.2fx\n", mr / hr;
    if (nc > 0) printf "meridian/nginx CPU per request: %.2fx (median rounds)\n", mc / nc }'
