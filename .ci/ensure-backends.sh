#!/usr/bin/env bash
# Makes sure the backends the tests need are here before they run: starts each local service that
# is down (background processes do not survive until CI runs) and fetches the jars of Apache Kafka and
# ElasticMQ (the strict SQS server).
# Prints one line per backend; exits 1 when an installed service does not come up or the fetch fails.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    port_open "$1" && return 0
    sleep 0.2
  done
  port_open "$1"
}

ensure() { # name port wait-seconds executable command...
  local name=$1 port=$2 secs=$3 exe=$4 start=$SECONDS
  shift 4
  if port_open "$port"; then
    echo "$name: up on 127.0.0.1:$port"
  elif ! command -v "$exe" >/dev/null; then
    echo "$name: not installed ($exe not found), nothing started"
  elif "$@" >"$logs/$name.log" 2>&1 && wait_port "$port" "$secs"; then
    echo "$name: started on 127.0.0.1:$port in $((SECONDS - start)) s"
  else
    echo "$name: FAILED to come up on 127.0.0.1:$port within $secs s: $*"
    sed 's/^/    /' "$logs/$name.log" | tail -20
    failed=1
  fi
}

mkdir -p /var/lib/redis /var/log/redis /var/lib/nats-server
ensure redis 6379 15 redis-server \
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure amqp 5672 60 rabbitmq-server rabbitmq-server -detached
ensure mqtt 1883 15 mosquitto mosquitto -d -c /etc/mosquitto/mosquitto.conf
ensure nats 4222 15 /usr/sbin/nats-server \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log

# Java servers from Maven Central's jars (fetched here once, started by the tests on free ports).
jars=()
if [[ -n "${KAFKA_BROKERS:-}" ]]; then
  echo "kafka: KAFKA_BROKERS=$KAFKA_BROKERS"
elif port_open 9092; then
  echo "kafka: up on 127.0.0.1:9092"
else
  jars+=(kafka)
fi
echo "sqs: fauxqs, started in-process by the tests"
if [[ -n "${ELASTICMQ_ENDPOINT:-}" ]]; then
  echo "elasticmq: ELASTICMQ_ENDPOINT=$ELASTICMQ_ENDPOINT"
elif port_open 9324; then
  echo "elasticmq: up on 127.0.0.1:9324"
else
  jars+=(elasticmq)
fi
if ((${#jars[@]} == 0)); then
  :
elif command -v java >/dev/null && command -v mvn >/dev/null; then
  # fetch-jars.js prints one "<name>: ..." line per server, and exits 1 when a fetch fails.
  if ! node node_modules/typescript/bin/tsc -b test/backends || ! node test/backends/dist/fetch-jars.js "${jars[@]}"; then
    echo "${jars[*]}: FAILED to build test/backends or to fetch the jars"
    failed=1
  fi
else
  echo "${jars[*]}: no java and mvn here, nothing fetched (their tests are skipped)"
fi

if [[ -n "${PUBSUB_EMULATOR_HOST:-}" ]]; then
  echo "pubsub: PUBSUB_EMULATOR_HOST=$PUBSUB_EMULATOR_HOST"
elif command -v cloud-pubsub-emulator >/dev/null || [[ -x /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator ]]; then
  echo "pubsub: emulator installed, started by the tests"
else
  echo "pubsub: emulator not installed (the Pub/Sub tests are skipped)"
fi

exit "$failed"
