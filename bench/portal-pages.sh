#!/usr/bin/env bash
# Server render time of the portal's pages with the large store (issue "Developer portal,
# screens": measure the heaviest pages with the core issue's store). A benchmark: nothing fails
# on a figure.
#
#   PORTAL_SCALE_DIR=/tmp/scale bash bench/portal-scale.sh   # makes the store (1,000 organisations,
#                                                             # 11,000 certificates, 100,000 credentials)
#   bash bench/portal-pages.sh /tmp/scale                     # serves a copy of it and times each page
#
# Each page is fetched 5 times with the admin's session (curl time_total: the whole HTML,
# rendered on the server); the table shows the median, the slowest and the size.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
store="${1:?usage: bench/portal-pages.sh <data dir made by PORTAL_SCALE_DIR>}"
bin="${CERTGATE_BIN:-$here/target/release/certgate}"
work="$(mktemp -d /tmp/certgate-pages.XXXXXX)"
port="${PORT:-3617}"
cp -r "$store" "$work/data"
"$bin" serve --data-dir "$work/data" --portal-addr "127.0.0.1:$port" --gateway-addr 127.0.0.1:0 --portal-insecure-http >"$work/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
password=$(grep -o 'generated password: [^ ]*' "$work/out.log" | awk '{print $3}')
cookie=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -H 'sec-fetch-site: same-origin' \
  -d "{\"email\":\"admin@certgate.local\",\"password\":\"$password\"}" "$base/api/v1/session" \
  | grep -i '^set-cookie:' | head -1 | sed -E 's/^[Ss]et-[Cc]ookie: ([^;]*).*/\1/')
[ -n "$cookie" ] || { echo "could not sign in as the admin (a store made by portal-scale has no admin yet: it is created at first start)" >&2; exit 1; }
get() { curl -s -H "Cookie: $cookie" "$base$1"; }
first() { get "/api/v1/$1?limit=1" | jq -r '.items[0].id'; }
certificate=$(first certificates); organisation=$(first organisations); product=$(first products)
api=$(first apis); plan=$(first plans); request=$(first access-requests)
# A certificate linked to an organisation: its page lists the credentials that use it.
linked=$(get "/api/v1/certificates?organisation=$organisation&limit=1" | jq -r '.items[0].id // empty')
echo "| page | median ms | slowest ms | HTML bytes |"
echo "|---|---|---|---|"
for path in /admin /admin/certificates "/admin/certificates/$certificate" ${linked:+"/admin/certificates/$linked"} \
  /admin/apis "/admin/apis/$api" /admin/organisations "/admin/organisations/$organisation" /admin/plans "/admin/plans/$plan" \
  /admin/products "/admin/products/$product" /admin/access-requests "/admin/access-requests?state=approved" \
  "/admin/access-requests/$request" /admin/audit; do
  times=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -H "Cookie: $cookie" -w '%{time_total}\n' "$base$path"; done | awk '{printf "%.1f\n", $1 * 1000}' | sort -g)
  size=$(get "$path" | wc -c)
  echo "| \`$path\` | $(echo "$times" | sed -n 3p) | $(echo "$times" | tail -1) | $size |"
done
