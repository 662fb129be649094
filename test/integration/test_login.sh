# Login and sessions: the OIDC code flow with PKCE against the fake
# provider (test/fakes/fakeoidc.py), driven by curl with the redirects
# followed by hand; every ID-token misbehaviour refused; who sees which
# tenant; refresh rotation and reuse; log out and log out everywhere;
# cookies' attributes; CSRF; the failed-login limit; API-key login
# without OIDC; the session cookie on /v1.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN
url=$(migrated_db login) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_login
adm() { "$B" admin "$@" --env-file /dev/null; }
for t in acme beta gamma; do adm tenant create "$t" >/dev/null 2>&1; done
KA=$(adm key create --tenant acme 2>/dev/null)
KB=$(adm key create --tenant beta 2>/dev/null)

# --- tenant members ---
adm tenant member add beta bob 2>/dev/null
adm tenant member add gamma temp 2>/dev/null
adm tenant member remove gamma temp 2>/dev/null
eq "member list: bob in beta" "$(adm tenant member list beta 2>/dev/null | tail -n +2 | cut -f1)" "bob"
eq "member removed" "$(adm tenant member list gamma 2>/dev/null | tail -n +2 | wc -l)" 0
adm tenant member add nosuch bob >/dev/null 2>&1
eq "member add on an unknown tenant: 65" "$?" 65
adm tenant member add beta >/dev/null 2>&1
eq "member add without a subject: 64" "$?" 64

# --- the fake provider ---
mkdir -p keys
python3 "$INGOT_ROOT/test/fakes/fakeoidc.py" "$T_DIR/keys" ingot-test s3cret-client > oidc.out 2>&1 &
FAKE_PIDS+=($!)
wait_until 300 grep -q '^port ' oidc.out || { bad "fakeoidc did not start"; cat oidc.out; finish; }
ISS="http://127.0.0.1:$(awk '/^port /{print $2; exit}' oidc.out)"

# start_serve VAR PORT args...: serve on a chosen port (PUBLIC_URL names it).
start_serve() {
    local var=$1 port=$2; shift 2
    local log="$INGOT_TMP/$var.$$.$RANDOM.log"
    "$B" serve --host 127.0.0.1 --port "$port" --env-file /dev/null "$@" >"$log" 2>&1 &
    INGOT_PIDS+=($!); INGOT_LOGS+=("$log")
    printf -v "${var}_LOG" '%s' "$log"
    wait_until 100 curl -sf -o /dev/null "http://127.0.0.1:$port/health/live" || { bad "serve did not start"; tail "$log"; finish; }
}

o=$(OAUTH_SERVER_URL=$ISS "$B" serve --host 127.0.0.1 --port "$(free_port)" --env-file /dev/null 2>&1)
eq "OAUTH_SERVER_URL without OAUTH_CLIENT_ID: exit 78" "$?" 78
contains "  names OAUTH_CLIENT_ID" "$o" "OAUTH_CLIENT_ID: required when OAUTH_SERVER_URL is set"

P=$(free_port)
U="http://127.0.0.1:$P"
start_serve S "$P" --oauth-server-url "$ISS" --oauth-client-id ingot-test --oauth-client-secret s3cret-client \
    --owner-open-id owner --public-url "$U" --trusted-proxies 127.0.0.0/8

hdr() { grep -i "^$1:" "$2" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
setck() { grep -i "^set-cookie: $1=" "$2" | head -1 | tr -d '\r' | sed 's/^[^:]*: *//'; }
ckval() { setck "$1" "$2" | sed "s/^$1=//; s/;.*//"; }
st() { head -1 "$1" | awk '{print $2}'; }

# oidc_login SUB MODE ALG [curl args]: /auth/login, the provider's
# authorize, /auth/callback. Sets LS (the callback's status), LB (its body);
# on success ACC, REF, CSRF (the new cookies).
oidc_login() {
    local sub=$1 mode=$2 alg=$3; shift 3
    curl -s -D h1 -o /dev/null "$U/auth/login?return_to=/ui/jobs" "$@"
    local loc1 lc loc2
    loc1=$(hdr Location h1); lc=$(ckval ingot_login h1)
    curl -s -D h2 -o /dev/null "$loc1&test_sub=$sub&test_mode=$mode&test_alg=$alg"
    loc2=$(hdr Location h2)
    curl -s -D h3 -o b3 "$loc2" -H "Cookie: ingot_login=$lc" "$@"
    LS=$(st h3); LB=$(cat b3)
    ACC=$(ckval ingot_access h3); REF=$(ckval ingot_refresh h3); CSRF=$(ckval ingot_csrf h3)
}
me() { curl -s "$U/auth/me" -H "Cookie: ingot_access=$1"; }
me_code() { curl -s -o /dev/null -w '%{http_code}' "$U/auth/me" -H "Cookie: ingot_access=$1"; }
tenants() { jq -c '[.tenants[].name]' <<<"$1"; }

# --- the redirect to the provider ---
curl -s -D h0 -o /dev/null "$U/auth/login?return_to=/ui/q"
eq "login: 302" "$(st h0)" 302
loc=$(hdr Location h0)
contains "  to the authorization endpoint" "$loc" "$ISS/authorize?response_type=code&scope=openid&client_id=ingot-test"
contains "  redirect_uri is PUBLIC_URL/auth/callback" "$loc" "redirect_uri=http%3A%2F%2F127.0.0.1%3A$P%2Fauth%2Fcallback"
contains "  PKCE S256" "$loc" "&code_challenge_method=S256"
check "  state, nonce and challenge are there" bash -c "[[ '$loc' =~ state=[A-Za-z0-9_-]{32}'&'nonce=[A-Za-z0-9_-]{32}'&'code_challenge=[A-Za-z0-9_-]{43} ]]"
c=$(setck ingot_login h0)
contains "  login cookie: HttpOnly, SameSite=Lax, Path=/auth" "$c" "Path=/auth; Max-Age=600; HttpOnly; SameSite=Lax"
check "  not Secure on loopback" bash -c "[[ '$c' != *Secure* ]]"
eq "bad return_to: 400" "$(http_code "$U/auth/login?return_to=//evil.example")" 400
eq "unknown query parameter: 400" "$(http_code "$U/auth/login?next=/")" 400
eq "API-key login is off with OIDC: 404" "$(http_code "$U/auth/login/key" -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$KA\"}")" 404

# --- the owner, RS256 ---
oidc_login owner ok RS256
eq "owner login: 302" "$LS" 302
eq "  back to return_to" "$(hdr Location h3)" "/ui/jobs"
a=$(grep '^authorize' oidc.out | tail -1)
contains "  the provider got state, nonce, challenge (S256)" "$a" "method=S256 scope=openid client_id=ingot-test missing=-"
t=$(grep '^token' oidc.out | tail -1)
contains "  the token request carried the verifier, which matched" "$t" "code=known verifier=sent pkce=ok redirect_uri=$U/auth/callback client_id=ingot-test secret=ok"
c=$(setck ingot_access h3)
contains "  access cookie: HttpOnly, SameSite=Lax, 15 min" "$c" "Path=/; Max-Age=900; HttpOnly; SameSite=Lax"
check "  access cookie not Secure on loopback" bash -c "[[ '$c' != *Secure* ]]"
contains "  refresh cookie: /auth only, HttpOnly, 7 d" "$(setck ingot_refresh h3)" "Path=/auth; Max-Age=604800; HttpOnly; SameSite=Lax"
c=$(setck ingot_csrf h3)
check "  csrf cookie readable by the page (no HttpOnly)" bash -c "[[ '$c' == *SameSite=Lax* && '$c' != *HttpOnly* ]]"
contains "  the login cookie is cleared" "$(setck ingot_login h3)" "Max-Age=0"
OWN_ACC=$ACC OWN_REF=$REF OWN_CSRF=$CSRF
m=$(me "$OWN_ACC")
eq "owner: operator" "$(jq -r .operator <<<"$m")" true
eq "owner sees every tenant" "$(tenants "$m")" '["acme","beta","gamma"]'
eq "  csrf_token is the cookie's" "$(jq -r .csrf_token <<<"$m")" "$OWN_CSRF"
eq "  subject" "$(jq -r .subject <<<"$m")" owner

# --- a member (ES256) and a stranger ---
oidc_login bob ok ES256
eq "bob (ES256): 302" "$LS" 302
BOB_ACC=$ACC BOB_CSRF=$CSRF
m=$(me "$BOB_ACC")
eq "bob sees only beta" "$(tenants "$m")" '["beta"]'
eq "  not an operator" "$(jq -r .operator <<<"$m")" false
oidc_login carol ok RS256
CAROL_ACC=$ACC
eq "carol (no membership) sees nothing" "$(tenants "$(me "$CAROL_ACC")")" '[]'
eq "not logged in: 401" "$(me_code '')" 401

# --- /v1 with the session cookie ---
v1() { curl -s -o v1.out -w '%{http_code}' "$@"; }
eq "bob GET /v1/queues for beta: 200" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: beta')" 200
eq "bob for acme: 403" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: acme')" 403
contains "  tenant_not_visible naming Ingot-Tenant" "$(cat v1.out)" '"param":"Ingot-Tenant","code":"tenant_not_visible"'
eq "bob without Ingot-Tenant: 400" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$BOB_ACC")" 400
eq "carol for beta: 403" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$CAROL_ACC" -H 'Ingot-Tenant: beta')" 403
eq "owner for gamma: 200" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$OWN_ACC" -H 'Ingot-Tenant: gamma')" 200
job='{"queue":"q","kind":"http","payload":{"url":"http://127.0.0.1:9/x"}}'
eq "POST without X-CSRF-Token: 403" "$(v1 "$U/v1/jobs" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: beta' -d "$job")" 403
contains "  csrf_failed" "$(cat v1.out)" '"code":"csrf_failed"'
eq "POST with another session's token: 403" "$(v1 "$U/v1/jobs" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: beta' -H "X-CSRF-Token: $OWN_CSRF" -d "$job")" 403
eq "POST from another Origin: 403" "$(v1 "$U/v1/jobs" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: beta' -H "X-CSRF-Token: $BOB_CSRF" -H 'Origin: http://evil.example' -d "$job")" 403
eq "POST with the token and this Origin: 202" "$(v1 "$U/v1/jobs" -H "Cookie: ingot_access=$BOB_ACC" -H 'Ingot-Tenant: beta' -H "X-CSRF-Token: $BOB_CSRF" -H "Origin: $U" -d "$job")" 202
jid=$(jq -r .id v1.out)
eq "  the job is beta's" "$(mysql_root -e "SELECT t.name FROM $DB.jobs j JOIN $DB.tenants t ON t.id = j.tenant_id WHERE j.id = ${jid#job_}")" beta
eq "a bearer key still works beside the cookie" "$(v1 "$U/v1/queues" -H "Authorization: Bearer $KA" -H "Cookie: ingot_access=$BOB_ACC")" 200

# --- tampered session tokens ---
IFS=. read -r th tp ts <<<"$BOB_ACC"
forged=$(printf '%s' "$(printf '%s' "$tp" | tr '_-' '/+' | base64 -d 2>/dev/null | sed 's/"sub":"bob"/"sub":"owner"/')" | base64 -w0 | tr '/+' '_-' | tr -d '=')
eq "access token with sub changed: 401" "$(me_code "$th.$forged.$ts")" 401
none=$(printf '{"alg":"none","typ":"JWT"}' | base64 -w0 | tr '/+' '_-' | tr -d '=')
eq "alg none: 401" "$(me_code "$none.$tp.")" 401
eq "HS256 under another secret: 401" "$(me_code "$th.$tp.${ts%????}AAAA")" 401

# --- each misbehaviour refused (from 10.0.0.2, under the limit) ---
X=(-H 'X-Forwarded-For: 10.0.0.2')
n0=$(mysql_root -e "SELECT COUNT(*) FROM $DB.auth_sessions")
j0=$(grep -c '^jwks' oidc.out)
refused() { # refused MODE ALG WANT_IN_MESSAGE
    oidc_login mallory "$1" "$2" "${X[@]}"
    eq "$1: 401" "$LS" 401
    contains "  says $3" "$LB" "$3"
    eq "  no cookie set" "$ACC" ""
}
refused wrong_iss RS256 'the ID token is refused: iss: the token is not from the expected issuer'
refused wrong_aud ES256 'the ID token is refused: aud: the token is not for this client'
refused expired RS256 'the ID token is refused: exp: the token expired'
refused bad_sig ES256 "the ID token's signature is not valid"
refused bad_sig RS256 "the ID token's signature is not valid"
refused nonce RS256 'the ID token is refused: nonce: does not match'
refused unknown_kid RS256 "kid: no key of the provider's JWKS matches"
eq "  the unknown kid made one JWKS fetch" "$(($(grep -c '^jwks' oidc.out) - j0))" 1
refused alg_none RS256 'alg: none is not accepted'
eq "no session was stored for any of them" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.auth_sessions")" "$n0"
# the state the browser holds must be the one sent back (from another address)
X=(-H 'X-Forwarded-For: 10.0.0.7')
curl -s -D h1 -o /dev/null "$U/auth/login" "${X[@]}"
lc=$(ckval ingot_login h1)
curl -s -D h2 -o /dev/null "$(hdr Location h1)&test_sub=mallory"
cb=$(hdr Location h2)
eq "state altered: 401" "$(curl -s -o b4 -w '%{http_code}' "${cb%state=*}state=AAAA" -H "Cookie: ingot_login=$lc" "${X[@]}")" 401
contains "  state_mismatch" "$(cat b4)" state_mismatch
eq "no login cookie: 401" "$(curl -s -o b4 -w '%{http_code}' "$cb" "${X[@]}")" 401
contains "  login_state_missing" "$(cat b4)" login_state_missing
eq "provider error: 401" "$(curl -s -o b4 -w '%{http_code}' "$U/auth/callback?error=access_denied&state=x" -H "Cookie: ingot_login=$lc" "${X[@]}")" 401

# --- key rotation at the provider ---
j0=$(grep -c '^jwks' oidc.out)
oidc_login owner rotate RS256 -H 'X-Forwarded-For: 10.0.0.8'
eq "rotated key (new kid r2): 302" "$LS" 302
eq "  fetched the JWKS once more" "$(($(grep -c '^jwks' oidc.out) - j0))" 1
c=$(setck ingot_access h3)
contains "  from a remote address the cookies are Secure" "$c" "HttpOnly; SameSite=Lax; Secure"
oidc_login owner ok RS256
eq "next login with r2: 302" "$LS" 302
eq "  no new JWKS fetch" "$(($(grep -c '^jwks' oidc.out) - j0))" 1

# --- the failed-login limit (per client address) ---
X3=(-H 'X-Forwarded-For: 10.0.0.3')
for i in $(seq 1 10); do curl -s -o /dev/null "$U/auth/callback?code=x&state=y" "${X3[@]}"; done
eq "11th attempt from one address: 429" "$(curl -s -D h5 -o b5 -w '%{http_code}' "$U/auth/login" "${X3[@]}")" 429
check "  with Retry-After" test -n "$(hdr Retry-After h5)"
contains "  too_many_failed_logins" "$(cat b5)" too_many_failed_logins
eq "another address is not limited" "$(http_code "$U/auth/login" -H 'X-Forwarded-For: 10.0.0.4')" 302

# --- refresh: rotation, reuse ---
oidc_login owner ok RS256
R_ACC=$ACC R_REF=$REF R_CSRF=$CSRF
refresh() { curl -s -D "$1" -o "$1.body" -w '%{http_code}' -X POST "$U/auth/refresh" -H "Cookie: ingot_refresh=$2" "${@:3}"; }
eq "refresh without X-CSRF-Token: 403" "$(refresh hr0 "$R_REF")" 403
eq "refresh: 200" "$(refresh hr1 "$R_REF" -H "X-CSRF-Token: $R_CSRF")" 200
N_REF=$(ckval ingot_refresh hr1); N_ACC=$(ckval ingot_access hr1)
check "  a new refresh token" test -n "$N_REF" -a "$N_REF" != "$R_REF"
eq "  the new access token works" "$(me_code "$N_ACC")" 200
eq "  the body is /auth/me's" "$(jq -r .subject hr1.body)" owner
h=$(printf '%s' "$N_REF" | openssl dgst -sha256 -hmac "$JWT_SECRET" | awk '{print $NF}')
eq "  stored as HMAC-SHA256(JWT_SECRET, token)" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.auth_sessions WHERE refresh_hash = UNHEX('$h')")" 1
eq "the old refresh token again: 401" "$(refresh hr2 "$R_REF" -H "X-CSRF-Token: $R_CSRF")" 401
contains "  refresh_token_used" "$(cat hr2.body)" refresh_token_used
eq "  which ended the session: the new refresh token is refused" "$(refresh hr3 "$N_REF" -H "X-CSRF-Token: $R_CSRF")" 401
eq "  and the new access token too" "$(me_code "$N_ACC")" 401
eq "garbage refresh token: 401" "$(refresh hr4 "ir_nope")" 401

# --- log out, log out everywhere ---
oidc_login owner ok RS256; A_ACC=$ACC A_CSRF=$CSRF
oidc_login owner ok ES256; B_ACC=$ACC B_CSRF=$CSRF
# sse NAME ACCESS: an event stream in the background (its pid in NAME_PID),
# waited for until it said hello.
sse() {
    curl -s -N "$U/ui/events" -H "Cookie: ingot_access=$2" > "$1.sse" 2>&1 &
    printf -v "$1_PID" '%s' $!
    FAKE_PIDS+=($!)
    wait_until 50 grep -q 'event: hello' "$1.sse" || bad "the $1 event stream did not open"
}
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# HEAD answers the head alone: it held the connection as a stream forever,
# so the next request on it was never answered.
eq "HEAD /ui/events, then a GET on the same connection" "$(curl -s -I -m 5 -o /dev/null -o /dev/null -w '%{http_code} ' "$U/ui/events" "$U/health/live" -H "Cookie: ingot_access=$A_ACC")" "200 200 "
sse evA "$A_ACC"
sse evB "$B_ACC"
eq "logout without X-CSRF-Token: 403" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/auth/logout" -H "Cookie: ingot_access=$A_ACC")" 403
eq "logout: 200" "$(curl -s -D hl -o /dev/null -w '%{http_code}' -X POST "$U/auth/logout" -H "Cookie: ingot_access=$A_ACC" -H "X-CSRF-Token: $A_CSRF")" 200
contains "  clears the access cookie" "$(setck ingot_access hl)" "Max-Age=0"
eq "  that session's access token is refused at once" "$(me_code "$A_ACC")" 401
eq "  and on /v1" "$(v1 "$U/v1/queues" -H "Cookie: ingot_access=$A_ACC" -H 'Ingot-Tenant: acme')" 401
eq "  the owner's other session still works" "$(me_code "$B_ACC")" 200
# The stream checks its session every 5 s (one query for all streams):
# without that it lasted until the access token expired.
check "  its event stream ends within the recheck period" wait_until 80 gone "$evA_PID"
check "  the other session's stream stays" alive "$evB_PID"
eq "  a new stream for the logged-out session: 401" "$(curl -s -o evA2.out -w '%{http_code}' "$U/ui/events" -H "Cookie: ingot_access=$A_ACC")" 401
contains "  session_revoked" "$(cat evA2.out)" session_revoked
eq "logout everywhere: 200" "$(curl -s -o lo.out -w '%{http_code}' -X POST "$U/auth/logout-all" -H "Cookie: ingot_access=$B_ACC" -H "X-CSRF-Token: $B_CSRF")" 200
check "  ended every open session of the owner ($(jq .sessions_ended lo.out))" test "$(jq .sessions_ended lo.out)" -ge 2
eq "  owner's sessions: refused" "$(me_code "$B_ACC")$(me_code "$OWN_ACC")" 401401
eq "  every owner refresh token revoked" "$(mysql_root -e "SELECT COUNT(*) FROM $DB.auth_sessions WHERE subject = 'owner' AND revoked_at IS NULL")" 0
eq "  bob's session untouched" "$(me_code "$BOB_ACC")" 200
check "  the other session's event stream ended too" wait_until 80 gone "$evB_PID"
# At most 8 streams per session (each holds a connection and a buffer).
BOBS=()
for i in 1 2 3 4 5 6 7 8; do sse "evbob$i" "$BOB_ACC"; v="evbob${i}_PID"; BOBS+=("${!v}"); done
eq "a 9th stream of one session: 503" "$(curl -s -o ev9.out -w '%{http_code}' "$U/ui/events" -H "Cookie: ingot_access=$BOB_ACC")" 503
contains "  too_many_streams" "$(cat ev9.out)" too_many_streams
kill "${BOBS[@]}" 2>/dev/null
bob_in() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/ui/events" -H "Cookie: ingot_access=$BOB_ACC")" = 200 ]; }
check "  one more once they left" wait_until 100 bob_in

# --- API-key login without OIDC ---
P2=$(free_port)
start_serve S2 "$P2" --public-url "http://127.0.0.1:$P2" --trusted-proxies 127.0.0.0/8
U2="http://127.0.0.1:$P2"
keylogin() { curl -s -D "$1" -o "$1.body" -w '%{http_code}' -X POST "$U2/auth/login/key" -H 'Content-Type: application/json' "${@:2}"; }
eq "API-key login without OIDC: 200" "$(keylogin hk "-d" "{\"api_key\":\"$KA\"}")" 200
K_ACC=$(ckval ingot_access hk) K_REF=$(ckval ingot_refresh hk) K_CSRF=$(ckval ingot_csrf hk)
eq "  the key's tenant only" "$(jq -c '[.tenants[].name]' hk.body)" '["acme"]'
eq "  kind api_key" "$(jq -r .kind hk.body)" api_key
eq "  /v1 with the cookie, no Ingot-Tenant: 200" "$(v1 "$U2/v1/queues" -H "Cookie: ingot_access=$K_ACC")" 200
eq "  another tenant: 403" "$(v1 "$U2/v1/queues" -H "Cookie: ingot_access=$K_ACC" -H 'Ingot-Tenant: beta')" 403
# A bearer key with Ingot-Tenant: answered with the key's tenant before,
# whatever the header named.
eq "a bearer key naming another tenant: 403" "$(curl -s -o it.out -w '%{http_code}' "$U2/v1/queues" -H "Authorization: Bearer $KA" -H 'Ingot-Tenant: beta')" 403
eq "  tenant_not_visible, naming the header" "$(jq -c '[.error.code, .error.param]' it.out)" '["tenant_not_visible","Ingot-Tenant"]'
eq "  naming its own: 200" "$(v1 "$U2/v1/queues" -H "Authorization: Bearer $KA" -H 'Ingot-Tenant: acme')" 200
eq "  malformed: 400" "$(v1 "$U2/v1/queues" -H "Authorization: Bearer $KA" -H 'Ingot-Tenant: a b')" 400
eq "  x-api-key too" "$(v1 "$U2/v1/queues" -H "x-api-key: $KA" -H 'Ingot-Tenant: beta')" 403
eq "OIDC login is off here: 404" "$(http_code "$U2/auth/login")" 404
me2() { curl -s -o me2.out -w '%{http_code}' "$U2/auth/me" -H "Cookie: ingot_access=$1"; }
refresh2() { curl -s -D "$1" -o "$1.body" -w '%{http_code}' -X POST "$U2/auth/refresh" -H "Cookie: ingot_refresh=$2" -H "X-CSRF-Token: $3"; }
eq "refresh of a key session: 200" "$(refresh2 hk2 "$K_REF" "$K_CSRF")" 200
K2_ACC=$(ckval ingot_access hk2) K2_REF=$(ckval ingot_refresh hk2)
eq "  the renewed token works" "$(me2 "$K2_ACC")" 200

# --- short access tokens expire; refresh renews them ---
P3=$(free_port)
start_serve S3 "$P3" --jwt-expiry 1s --public-url "http://127.0.0.1:$P3"
U3="http://127.0.0.1:$P3"
curl -s -D hx -o /dev/null -X POST "$U3/auth/login/key" -H 'Content-Type: application/json' -d "{\"api_key\":\"$KB\"}"
contains "access cookie lasts JWT_EXPIRY" "$(setck ingot_access hx)" "Max-Age=1;"
x_acc=$(ckval ingot_access hx) x_ref=$(ckval ingot_refresh hx) x_csrf=$(ckval ingot_csrf hx)
me3() { curl -s -o me3.out -w '%{http_code}' "$U3/auth/me" -H "Cookie: ingot_access=$1"; }
check "the 1 s access token expires" wait_until 40 out_is 401 me3 "$x_acc"
contains "  session_expired, pointing to refresh" "$(cat me3.out)" '"code":"session_expired"'
eq "  on /v1 too" "$(v1 "$U3/v1/queues" -H "Cookie: ingot_access=$x_acc")" 401
eq "refresh renews it: 200" "$(curl -s -D hx2 -o hx2.body -w '%{http_code}' -X POST "$U3/auth/refresh" -H "Cookie: ingot_refresh=$x_ref" -H "X-CSRF-Token: $x_csrf")" 200
eq "  answering who is logged in" "$(jq -c '[.tenants[].name]' hx2.body)" '["beta"]'
check "  with a new access cookie" test -n "$(ckval ingot_access hx2)" -a "$(ckval ingot_access hx2)" != "$x_acc"
y_acc=$(ckval ingot_access hx2) y_ref=$(ckval ingot_refresh hx2)
check "  which expires too" wait_until 40 out_is 401 me3 "$y_acc"
lo3() { curl -s -o lo3.out -w '%{http_code}' -X POST "$U3/auth/logout" -H "Cookie: ingot_access=$y_acc; ingot_refresh=$1" "${@:2}"; }
eq "log out with an expired access token, by the refresh cookie, no CSRF token: 403" "$(lo3 "$y_ref")" 403
eq "  with it: 200" "$(lo3 "$y_ref" -H "X-CSRF-Token: $x_csrf")" 200
eq "  the session is over: its refresh token is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U3/auth/refresh" -H "Cookie: ingot_refresh=$y_ref" -H "X-CSRF-Token: $x_csrf")" 401
eq "  logging out again: 401" "$(lo3 "$y_ref" -H "X-CSRF-Token: $x_csrf")" 401
eq "not JSON (a form post another site could make): 415" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U2/auth/login/key" -d "api_key=$KA")" 415
eq "unknown key: 401" "$(keylogin hk3 -d '{"api_key":"ik_0000000000000000000000000000000000000000"}')" 401
eq "key login from another Origin: 403" "$(keylogin hk3 -H 'Origin: http://evil.example' -d "{\"api_key\":\"$KB\"}")" 403
eq "not a key: 400 naming api_key" "$(keylogin hk3 -d '{"api_key":"x"}')$(jq -r .error.param hk3.body)" 400api_key
eq "an unknown field beside the key: 400 naming it" "$(keylogin hk3 -d "{\"api_key\":\"$KB\",\"remember\":true}")$(jq -r .error.param hk3.body)" 400remember
eq "  and no session cookie was set" "$(grep -ci '^set-cookie: ingot_access' hk3)" 0
eq "a key with a NUL in it: 400" "$(keylogin hk3 -d '{"api_key":"ik_\u0000"}')" 400
eq "remote client: 200" "$(keylogin hk4 -H 'X-Forwarded-For: 10.0.0.5' -d "{\"api_key\":\"$KB\"}")" 200
contains "  Secure cookies" "$(setck ingot_refresh hk4)" "; Secure"
for i in $(seq 1 10); do keylogin hk5 -H 'X-Forwarded-For: 10.0.0.6' -d '{"api_key":"ik_1111111111111111111111111111111111111111"}' >/dev/null; done
eq "11th key login from one address: 429 even with a good key" "$(keylogin hk5 -H 'X-Forwarded-For: 10.0.0.6' -d "{\"api_key\":\"$KA\"}")" 429
# the limit is shared by the processes through Redis
X9=(-H 'X-Forwarded-For: 10.0.0.9')
for i in 1 2 3 4 5; do curl -s -o /dev/null "$U/auth/callback?code=x&state=y" "${X9[@]}"; done
for i in 1 2 3 4 5; do keylogin hk7 "${X9[@]}" -d '{"api_key":"ik_2222222222222222222222222222222222222222"}' >/dev/null; done
blocked2() { [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U2/auth/refresh" "${X9[@]}")" = 429 ]; }
check "5 + 5 failures in two processes: the limit is reached (Redis)" wait_until 30 blocked2
eq "  the other process learns it at its next failure, not before" "$(http_code "$U/auth/login" "${X9[@]}")" 302
curl -s -o /dev/null "$U/auth/callback?code=x&state=y" "${X9[@]}"
blocked1() { [ "$(http_code "$U/auth/login" "${X9[@]}")" = 429 ]; }
check "  then it refuses too" wait_until 30 blocked1
curl -s -N "$U2/ui/events" -H "Cookie: ingot_access=$K2_ACC" > evK.sse 2>&1 &
evK_PID=$!; FAKE_PIDS+=($!)
wait_until 50 grep -q 'event: hello' evK.sse || bad "the key session's event stream did not open"
adm key revoke "${KA:0:11}" >/dev/null 2>&1
eq "revoking the key ends its sessions at once" "$(me2 "$K2_ACC")" 401
check "  and their event streams within the recheck period" wait_until 80 gone "$evK_PID"
eq "  and their refresh" "$(refresh2 hk6 "$K2_REF" "$K_CSRF")" 401

# --- without JWT_SECRET: the routes say sessions are off ---
P4=$(free_port)
JWT_SECRET='' start_serve S4 "$P4"
eq "no JWT_SECRET: /auth/login/key 404" "$(curl -s -o off.out -w '%{http_code}' -X POST "http://127.0.0.1:$P4/auth/login/key" -H 'Content-Type: application/json' -d "{\"api_key\":\"$KB\"}")" 404
contains "  naming JWT_SECRET" "$(cat off.out)" "JWT_SECRET is not set"
eq "  a session cookie on /v1 is not taken for a key" "$(v1 "http://127.0.0.1:$P4/v1/queues" -H "Cookie: ingot_access=$BOB_ACC")" 401

for l in "$S_LOG" "$S2_LOG" "$S3_LOG"; do
    check "no secret in the log ($(basename "$l"))" bash -c "! grep -qE 's3cret-client|$KB|ir_[A-Za-z0-9_-]{20}' '$l'"
done
finish
