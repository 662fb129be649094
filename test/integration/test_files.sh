# The Files API (/v1/files): the official openai SDK as the client
# (test/llm/files.mjs), curl for wrong input (each 400 names the field, a
# bad batch file the line), tenant isolation, size and line limits,
# HTTP_MAX_BODY still applying elsewhere, a 200 MB upload with serve's RSS
# measured, a client that leaves mid-upload (nothing stays), a slow
# download, and retention purging an expired file.
. "$(dirname "$0")/lib.sh"
B=$INGOT_BIN

if ! [ -f "$INGOT_ROOT/test/node_modules/openai/package.json" ]; then
    bash "$INGOT_ROOT/test/sdk-setup.sh" >sdk-setup.log 2>&1 || { bad "openai SDK installed (test/sdk-setup.sh)"; cat sdk-setup.log; finish; }
fi

url=$(migrated_db files) || { bad "migrate"; finish; }
export DATABASE_URL=$url
DB=ingot_files
A=(--env-file /dev/null)
for t in acme other; do "$B" admin tenant create "$t" "${A[@]}" >/dev/null 2>&1; done
K=$("$B" admin key create --tenant acme "${A[@]}" 2>/dev/null)
KO=$("$B" admin key create --tenant other "${A[@]}" 2>/dev/null)
# No default provider: fk/... routes, any other model does not. No call is
# ever made (an upload only checks that a line's model routes).
"$B" admin provider add fk --type openai --base-url "http://127.0.0.1:9/v1" "${A[@]}" >/dev/null 2>&1
MODEL=fk/fake-ok

# Under ASan, freed memory waits in a quarantine (256 MB by default) before
# reuse: RSS would measure the sanitizer. A small one keeps the measure ours.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64" \
    FILES_MAX_BYTES=201mb FILES_UPLOADS_MAX=1 start_ingot S serve || finish
FILES_MAX_BYTES=100kb FILES_BATCH_MAX_LINES=5 start_ingot SM serve || finish
U="http://127.0.0.1:$S_PORT"
UM="http://127.0.0.1:$SM_PORT"
AUTH=(-H "Authorization: Bearer $K")
# the providers are read once at start: a batch upload before that is 503
wait_until 100 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' $U/v1/models) = 200 ]" ||
    bad "the gateway read its providers"
wait_until 100 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' $UM/v1/models) = 200 ]"

q() { mysql_root -e "$1"; }
stored() { q "SELECT COUNT(*) FROM $DB.files"; }
chunks() { q "SELECT COUNT(*) FROM $DB.file_chunks"; }

# --- the SDK ---
out=sdk.out
INGOT_URL=$U INGOT_KEY=$K FILES_MODEL=$MODEL timeout 120 node "$INGOT_ROOT/test/llm/files.mjs" >"$out" 2>&1
rc=$?
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out")
T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
grep -E '^(ok|FAIL|  )' "$out"
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then bad "files.mjs: node exited $rc"; tail -20 "$out"; fi
read -r -a IDS <<<"$(awk '/^ids /{$1=""; print}' "$out")"
eq "the SDK made 6 files" "${#IDS[@]}" 6
check "the deleted file's chunks and row are purged" wait_sql 50 \
    "SELECT COUNT(*) FROM $DB.files WHERE id = '${IDS[3]:-none}'" 0
n_ok=$(stored)

# --- wrong input: each 400 names the field ---
# upload PARAM_WANTED CURL_ARGS...: POST /v1/files, want 400 with that param
refused() {
    local want=$1 base=$2; shift 2
    local body code
    body=$(curl -s -w '\n%{http_code}' --max-time 20 "${AUTH[@]}" "$@" "$base/v1/files")
    code=${body##*$'\n'}; body=${body%$'\n'*}
    local param; param=$(printf '%s' "$body" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const e=JSON.parse(s).error;console.log(e.param+"|"+e.message)}catch{console.log("unparsable|"+s)}})')
    if [ "$code" = "${WANT_CODE:-400}" ] && [ "${param%%|*}" = "$want" ]; then
        ok "refused ${WANT_CODE:-400} naming $want: ${param#*|}"
    else
        bad "refused ${WANT_CODE:-400} naming $want (got $code: $param)"
    fi
}
printf '%s\n' '{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{"model":"'$MODEL'","messages":[{"role":"user","content":"hi"}]}}' > good.jsonl
refused "Content-Type" "$U" -H 'Content-Type: application/json' --data-binary '{}'
refused "Content-Type" "$U" -H 'Content-Type: multipart/form-data' --data-binary 'x'
refused "purpose" "$U" -F file=@good.jsonl
refused "file" "$U" -F purpose=batch
refused "purpose" "$U" -F file=@good.jsonl -F purpose=nonsense
refused "colour" "$U" -F file=@good.jsonl -F purpose=batch -F colour=red
refused "purpose" "$U" -F file=@good.jsonl -F purpose=batch -F purpose=batch
refused "file" "$U" -F file=hello -F purpose=batch   # a field, not a file part: no filename
refused "expires_after[seconds]" "$U" -F file=@good.jsonl -F purpose=batch -F 'expires_after[anchor]=created_at'
refused "expires_after[seconds]" "$U" -F file=@good.jsonl -F purpose=batch -F 'expires_after[anchor]=created_at' -F 'expires_after[seconds]=60'
refused "expires_after[anchor]" "$U" -F file=@good.jsonl -F purpose=batch -F 'expires_after[anchor]=now' -F 'expires_after[seconds]=3600'
refused "file" "$U" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary $'--zz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
refused "file" "$U" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary $'--zz\r\nContent-Disposition: form-data; name="purpose"\n\nbatch\r\n--zz--\r\n'

# bad batch files: the line and the field
line() { printf '{"custom_id":"%s","method":"%s","url":"%s","body":%s}\n' "$1" "$2" "$3" "$4"; }
CHAT='{"model":"'$MODEL'","messages":[{"role":"user","content":"hi"}]}'
bad_batch() { # PARAM LINES...
    local want=$1; shift
    printf '%s' "$@" > bad.jsonl
    refused "$want" "$U" -F purpose=batch -F file=@bad.jsonl
}
bad_batch "line[2]" "$(line a POST /v1/chat/completions "$CHAT")"$'\n' $'{"custom_id": "b",\n'
bad_batch "line[2].method" "$(line a POST /v1/chat/completions "$CHAT")"$'\n' "$(line b GET /v1/chat/completions "$CHAT")"$'\n'
bad_batch "line[1].url" "$(line a POST /v1/completions "$CHAT")"$'\n'
bad_batch "line[1].body" "$(line a POST /v1/chat/completions '"text"')"$'\n'
bad_batch "line[3].body.model" "$(line a POST /v1/chat/completions "$CHAT")"$'\n' "$(line b POST /v1/embeddings '{"model":"'$MODEL'","input":"x"}')"$'\n' "$(line c POST /v1/chat/completions '{"model":"gpt-nowhere","messages":[{"role":"user","content":"x"}]}')"$'\n'
bad_batch "line[1].body.messages" "$(line a POST /v1/chat/completions '{"model":"'$MODEL'"}')"$'\n'
bad_batch "line[1].body.model" "$(line a POST /v1/responses '{"input":"x"}')"$'\n'
bad_batch "line[2].custom_id" "$(line a POST /v1/chat/completions "$CHAT")"$'\n' "$(line a POST /v1/chat/completions "$CHAT")"$'\n'
bad_batch "line[1].extra" '{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{},"extra":1}'$'\n'
bad_batch "line[2]" "$(line a POST /v1/chat/completions "$CHAT")"$'\n\n'"$(line b POST /v1/chat/completions "$CHAT")"$'\n'
bad_batch "file" ""
# the purpose part first: the upload stops at the bad line (here line 2 of
# 20000), and the rest of the body is never read
{ line a POST /v1/chat/completions "$CHAT"; echo '[1]'; for i in $(seq 3 20000); do line "c$i" POST /v1/chat/completions "$CHAT"; done; } > long_bad.jsonl
refused "line[2]" "$U" -F purpose=batch -F file=@long_bad.jsonl
# a non-batch purpose takes any bytes
check "purpose user_data: any bytes" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' -F purpose=user_data -F file=@long_bad.jsonl $U/v1/files) = 200 ]"
n_ok=$((n_ok + 1))

# limits on the small server: FILES_MAX_BYTES=100kb, FILES_BATCH_MAX_LINES=5
head -c 150000 /dev/urandom > big.bin
WANT_CODE=413 refused "file" "$UM" -F purpose=user_data -F file=@big.bin
WANT_CODE=413 refused "file" "$UM" -H 'Transfer-Encoding: chunked' -F purpose=user_data -F file=@big.bin
for i in 1 2 3 4 5 6; do line "l$i" POST /v1/chat/completions "$CHAT"; done > six.jsonl
refused "file" "$UM" -F purpose=batch -F file=@six.jsonl
head -5 six.jsonl > five.jsonl
check "5 lines pass the 5-line limit" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $K' -F purpose=batch -F file=@five.jsonl $UM/v1/files) = 200 ]"
n_ok=$((n_ok + 1))
# HTTP_MAX_BODY (1mb) still holds for every other route
head -c 1200000 /dev/zero | tr '\0' 'a' > big.json
eq "HTTP_MAX_BODY still applies to POST /v1/jobs" "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @big.json "$U/v1/jobs")" 413

eq "nothing of a refused upload is stored (rows)" "$(stored)" "$n_ok"
check "nothing of a refused upload is stored (no chunk without a file)" sql_is \
    "SELECT COUNT(*) FROM $DB.file_chunks c LEFT JOIN $DB.files f ON f.seq = c.file_seq WHERE f.seq IS NULL" 0
eq "no 401 without a key" "$(curl -s -o /dev/null -w '%{http_code}' -F purpose=batch -F file=@good.jsonl "$U/v1/files")" 401
for v in 0 10001 +1; do
    eq "list: bad limit $v" "$(curl -s "${AUTH[@]}" "$U/v1/files?limit=$v")" \
        '{"error":{"message":"limit: must be a whole number from 1 to 10000","type":"invalid_request_error","param":"limit","code":"invalid_value"}}'
done
eq "list: bad order" "$(curl -s "${AUTH[@]}" "$U/v1/files?order=up")" \
    '{"error":{"message":"order: must be asc or desc","type":"invalid_request_error","param":"order","code":"invalid_value"}}'
eq "list: bad after" "$(curl -s "${AUTH[@]}" "$U/v1/files?after=x")" \
    '{"error":{"message":"after: must be a file id (file- and 24 hex digits) from an earlier page","type":"invalid_request_error","param":"after","code":"invalid_value"}}'
eq "list: limit refused before order" "$(curl -s "${AUTH[@]}" "$U/v1/files?order=up&limit=0" | jq -r .error.param)" limit
eq "list: order refused before after" "$(curl -s "${AUTH[@]}" "$U/v1/files?after=x&order=up" | jq -r .error.param)" order
eq "list: after refused before purpose" "$(curl -s "${AUTH[@]}" "$U/v1/files?after=x&purpose=" | jq -r .error.param)" after
eq "list: unknown parameter" "$(curl -s "${AUTH[@]}" "$U/v1/files?colour=red" | grep -o '"param":"colour"')" '"param":"colour"'
eq "get: malformed id" "$(curl -s "${AUTH[@]}" "$U/v1/files/nope" | grep -o '"param":"id"')" '"param":"id"'

# --- tenant isolation ---
ID=${IDS[0]:-file-000000000000000000000000}
AO=(-H "Authorization: Bearer $KO")
eq "other tenant: get is 404" "$(curl -s -o /dev/null -w '%{http_code}' "${AO[@]}" "$U/v1/files/$ID")" 404
eq "other tenant: content is 404" "$(curl -s -o /dev/null -w '%{http_code}' "${AO[@]}" "$U/v1/files/$ID/content")" 404
eq "other tenant: delete is 404" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${AO[@]}" "$U/v1/files/$ID")" 404
eq "other tenant: list is empty" "$(curl -s "${AO[@]}" "$U/v1/files")" '{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}'
eq "the owner still has it" "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$U/v1/files/$ID")" 200

# --- a DELETE racing the purge of the same file: still a 404 ---
# The purge's row delete locks the row, then files_id; a DELETE's UPDATE
# locks files_id, then the row. Here a session plays the purge with the
# first lock held until the UPDATE waits behind it, so the deadlock happens
# every time and InnoDB rolls the UPDATE back: it must be sent again and
# answer 404, not 503 (the SDK's "delete twice" saw it about 1 run in 12).
RID=$(curl -s "${AUTH[@]}" -F purpose=user_data -F file=@good.jsonl "$U/v1/files" | jq -r .id)
RSEQ=$(q "SELECT seq FROM $DB.files WHERE id = '$RID'")
RHEX=$(printf %s "$RID" | od -An -tx1 | tr -d ' \n') # ingot sends strings hex-encoded
q "UPDATE $DB.files SET state = 2 WHERE seq = $RSEQ" # deleted, its purge not yet at the row
coproc PURGE { mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot -N -B --unbuffered "$DB" 2>&1; }
echo "BEGIN; DELETE FROM file_chunks WHERE file_seq = $RSEQ; SELECT seq FROM files WHERE seq = $RSEQ FOR UPDATE;" >&"${PURGE[1]}"
read -r -t 10 held <&"${PURGE[0]}"
eq "race: the purge session holds the row" "$held" "$RSEQ"
curl -s -o race.body -w '%{http_code}' -X DELETE "${AUTH[@]}" "$U/v1/files/$RID" >race.code &
RACE_PID=$!
check "race: the DELETE waits behind the purge" wait_sql 100 \
    "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE 'UPDATE files SET state%$RHEX%'" 1
echo "DELETE FROM files WHERE seq = $RSEQ AND state <> 1; COMMIT; SELECT 'done';" >&"${PURGE[1]}"
read -r -t 10 done_line <&"${PURGE[0]}"
eq "race: the purge session finished" "$done_line" done
exec {PURGE[1]}>&-
wait "$RACE_PID"
eq "race: the DELETE that lost the deadlock answers 404" "$(cat race.code) $(jq -r .error.code race.body)" "404 not_found"
contains "race: InnoDB saw the deadlock, the DELETE in it" \
    "$(mysql_root --raw -e 'SHOW ENGINE INNODB STATUS\G' | sed -n '/LATEST DETECTED DEADLOCK/,/WE ROLL BACK/p')" "$RHEX"

# --- a 200 MB upload (the default FILES_MAX_BYTES): serve's RSS stays far
# below the file's size ---
BIGB=$((200 * 1024 * 1024))
head -c $BIGB /dev/urandom > twohundred.bin
rss() { awk "/^$1:/ {print \$2}" "/proc/$S_PID/status"; }
before=$(rss VmRSS); hwm0=$(rss VmHWM)
t0=$(date +%s%N)
resp=$(curl -s --max-time 300 "${AUTH[@]}" -F purpose=user_data -F file=@twohundred.bin "$U/v1/files")
t1=$(date +%s%N)
hwm1=$(rss VmHWM); after=$(rss VmRSS)
BIG=$(printf '%s' "$resp" | grep -o '"id":"file-[0-9a-f]*"' | cut -d'"' -f4)
contains "200 MB upload stored" "$resp" "\"bytes\":$BIGB"
peak=$(( (hwm1 > before ? hwm1 : before) - before ))
echo "     200 MB upload: $(( BIGB * 1000 / ((t1 - t0) / 1000) / 1000 )) MB/s; serve RSS ${before} kB before, ${after} kB after, peak ${hwm1} kB (was ${hwm0}): +$((peak / 1024)) MB at most"
check "200 MB upload: serve's peak RSS grew by under 25 MB" [ "$peak" -lt $((25 * 1024)) ]
# A chunk is cut once it holds 512 KiB, so it ends with the body piece
# that filled it (up to 64 KiB more): 356-400 chunks, every byte in them.
check "200 MB upload: stored in chunks" sql_is "SELECT COUNT(*) BETWEEN $((BIGB / (576 * 1024))) AND 400 AND SUM(LENGTH(c.data)) = $BIGB AND MAX(c.n) = COUNT(*) - 1 FROM $DB.file_chunks c JOIN $DB.files f ON f.seq = c.file_seq WHERE f.id = '$BIG'" 1
# the download, byte for byte, by a slow reader: RSS still bounded
want=$(sha256sum < twohundred.bin | cut -d' ' -f1)
got=$(curl -s --max-time 300 "${AUTH[@]}" "$U/v1/files/$BIG/content" | sha256sum | cut -d' ' -f1)
eq "200 MB download: the same bytes" "$got" "$want"
hwm2=$(rss VmHWM)
dl_bytes() { curl -s "$U/metrics" | awk '/^ingot_file_download_bytes_total /{printf "%d", $2}'; }
base=$(dl_bytes)
curl -s --max-time 60 --limit-rate 2M "${AUTH[@]}" "$U/v1/files/$BIG/content" -o /dev/null &
SLOW=$!
grown() { [ "$(dl_bytes)" -gt $((base + 4 * 1024 * 1024)) ]; }
check "slow reader: the download goes on" wait_until 100 grown
kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null
sent=$(( $(dl_bytes) - base ))
echo "     slow reader (2 MB/s): $((sent / 1024)) kB fetched from the database when it left"
check "slow reader: fetched only as it read (well under the 200 MB file; socket buffers included)" [ "$sent" -lt $((25 * 1024 * 1024)) ]
# a file deleted while it downloads: the body is cut (curl: error 18), never
# a complete-looking short one
curl -s --max-time 60 --limit-rate 2M "${AUTH[@]}" "$U/v1/files/$BIG/content" -o cut.bin &
CUT=$!
base=$(dl_bytes)
check "delete mid-download: the download goes on" wait_until 100 grown
eq "delete mid-download: deleted" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${AUTH[@]}" "$U/v1/files/$BIG")" 200
wait "$CUT"; rc=$?
eq "delete mid-download: the client sees a cut body (curl 18)" "$rc" 18
check "delete mid-download: fewer bytes than the file" [ "$(stat -c %s cut.bin)" -lt "$BIGB" ]
hwm3=$(rss VmHWM)
check "downloads: serve's peak RSS grew by under 25 MB" [ $((hwm3 - hwm2)) -lt $((25 * 1024)) ]

# --- a client that leaves mid-upload leaves nothing behind ---
head -c $((20 * 1024 * 1024)) /dev/urandom > twenty.bin
# the 200 MB file's purge ends with its row: counted before that, the
# count below came out one short (got 8, want 9)
check "delete mid-download: the file's row purged" wait_sql 600 "SELECT COUNT(*) FROM $DB.files WHERE id = '$BIG'" 0
base_rows=$(stored)
curl -s --max-time 60 --limit-rate 2M "${AUTH[@]}" -F purpose=user_data -F file=@twenty.bin "$U/v1/files" -o /dev/null &
CURL=$!
check "mid-upload: chunks are being written" wait_sql 100 \
    "SELECT COUNT(*) > 1 FROM $DB.file_chunks c JOIN $DB.files f ON f.seq = c.file_seq WHERE f.state = 0" 1
# FILES_UPLOADS_MAX=1: a second upload meanwhile is turned away at once
# (bounded memory and connections), with a delay the SDKs honour.
echo hello > small.txt
code=$(curl -s -D busy.h -o busy.json -w '%{http_code}' "${AUTH[@]}" -F purpose=user_data -F file=@small.txt "$U/v1/files")
eq "busy: a second upload at once is 503" "$code" 503
eq "  code uploads_busy, naming the setting" "$(jq -r '.error.code + " " + (.error.message | test("FILES_UPLOADS_MAX") | tostring)' busy.json)" "uploads_busy true"
contains "  with Retry-After" "$(tr -d '\r' < busy.h)" "retry-after: 1"
kill "$CURL" 2>/dev/null; wait "$CURL" 2>/dev/null
# (until serve has seen the client go, a retry is turned away too: counted)
again() { curl -s -o /dev/null -w '%{http_code}\n' "${AUTH[@]}" -F purpose=user_data -F file=@small.txt "$U/v1/files" >>again.codes; [ "$(tail -1 again.codes)" = 200 ]; }
: >again.codes
check "busy: once the first is gone, an upload is taken again" wait_until 100 again
check "mid-upload: the row is purged" wait_sql 100 "SELECT COUNT(*) FROM $DB.files WHERE state = 0" 0
check "mid-upload: its chunks are purged" wait_sql 100 \
    "SELECT COUNT(*) FROM $DB.file_chunks c LEFT JOIN $DB.files f ON f.seq = c.file_seq WHERE f.seq IS NULL OR f.state = 0" 0
eq "mid-upload: no file added (the one taken after it aside)" "$(stored)" "$((base_rows + 1))"

# --- metrics ---
m=$(curl -s "$U/metrics")
contains "metrics: uploads stored" "$m" 'ingot_file_uploads_total{outcome="stored"}'
contains "metrics: uploads refused" "$m" 'ingot_file_uploads_total{outcome="refused"}'
contains "metrics: uploads aborted" "$m" 'ingot_file_uploads_total{outcome="aborted"} 1'
contains "metrics: uploads turned away" "$m" "ingot_file_uploads_total{outcome=\"busy\"} $((1 + $(grep -c '^503$' again.codes)))"
contains "metrics: upload bytes" "$m" 'ingot_file_upload_bytes_total'

# --- retention: an expired file is purged by the scheduler's maintenance ---
EXP=${IDS[1]:-none}
q "UPDATE $DB.files SET expires_at = created_at - 1 WHERE id = '$EXP'"
eq "expired: invisible at once" "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$U/v1/files/$EXP")" 404
start_ingot SC schedule || finish
check "expired: purged by maintenance" wait_sql 100 "SELECT COUNT(*) FROM $DB.files WHERE id = '$EXP'" 0
check "expired: no chunk left behind" sql_is \
    "SELECT COUNT(*) FROM $DB.file_chunks c LEFT JOIN $DB.files f ON f.seq = c.file_seq WHERE f.seq IS NULL" 0
check "the other files stay" sql_is "SELECT COUNT(*) FROM $DB.files WHERE id = '$ID'" 1

stop_all_ingot
finish
