#!/bin/bash
# A shell script written for the Mosquitto command line clients (mosquitto_pub, mosquitto_sub,
# mosquitto_rr, mosquitto_passwd), the way people use them: configuration kept in retained
# messages, persistent sessions as inboxes, a request/response service, options files, exit
# codes checked with $?.  test_clients_script.py runs it twice, once with Debian's clients on
# PATH and once with mq linked under the same names, and compares the output byte for byte.
#
# Environment: H (broker host), P (broker port), DEAD (a port nobody listens on), W (a scratch
# directory). mosquitto_passwd and logins are in mosquitto_passwd.sh.
#
# Every client runs under `timeout`, so a misbehaving client cannot hang the script.

set -u
t() { timeout -k 2 15 "$@"; }
say() { printf '\n== %s\n' "$*"; }

cd "$W" || exit 1

say "retained configuration"
for kv in host=alpha.example port=8080 mode=eco; do
    t mosquitto_pub -h "$H" -p "$P" -r -q 1 -t "cfg/app/${kv%%=*}" -m "${kv#*=}"
    echo "set ${kv%%=*} rc=$?"
done
mode=$(t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5)
echo "mode is '$mode' rc=$?"
t mosquitto_sub -h "$H" -p "$P" -t 'cfg/app/#' -v -C 3 -W 5 | sort
t mosquitto_sub -h "$H" -p "$P" -t 'cfg/app/#' -T cfg/app/port -T cfg/app/host -v -C 1 -W 5

say "-F formats"
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/port -q 1 -C 1 -W 5 -F '%t|%q|%r|%l|%m|%x|%X|%p'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/host -C 1 -W 5 -F '[%20t] [%-20t] [%.5t] [%08l] [%-4l] [%5p]'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F '%%\t%p\\ @@ \e[0m'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F 'time=%I unix=%U at=@Y-@m-@d @H:@M:@S.@N'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F '%j'
t mosquitto_sub -h "$H" -p "$P" -t 'cfg/app/#' -C 3 -W 5 -F '%t=%p;' -N | od -An -c | tr -s ' '
echo
t mosquitto_pub -h "$H" -p "$P" -r -t cfg/app/json -m '{"temp":21.5,"ok":true,"tags":["a","b"]}'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/json -C 1 -W 5 -F '%J'
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/json -C 1 -W 5 -F '%J' --pretty
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F '%J'
echo "J on non-json rc=$?"
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F 'bad \q'
echo "bad escape rc=$?"
t mosquitto_sub -h "$H" -p "$P" -t cfg/app/mode -C 1 -W 5 -F '%k'
echo "bad specifier rc=$?"

say "--retained-only, -R, --remove-retained"
t mosquitto_sub -h "$H" -p "$P" -t 'cfg/app/#' --retained-only -v -W 1 | sort
echo "retained-only rc=${PIPESTATUS[0]}"
t mosquitto_sub -h "$H" -p "$P" -t 'cfg/app/#' -R -W 1
echo "-R on retained only rc=$?"
t mosquitto_sub -h "$H" -p "$P" -c -i watcher -q 1 -t 'cfg/app/#' -R -E
echo "watcher session rc=$?"
t mosquitto_pub -h "$H" -p "$P" -r -q 1 -t cfg/app/mode -m turbo
t mosquitto_sub -h "$H" -p "$P" -c -i watcher -q 1 -t 'cfg/app/#' -R -C 1 -W 5 -v
echo "watcher rc=$?"
for k in a b c; do t mosquitto_pub -h "$H" -p "$P" -r -t "old/stuff/$k" -m "stale $k"; done
# Not checked: how this ends. Mosquitto 2.0.11 never stops by itself once --remove-retained has
# published (exit 27 at -W); mq stops when its clearing messages are acknowledged (exit 0), an
# intended difference (tests/integration/test_clients_sub21.py).
t mosquitto_sub -h "$H" -p "$P" -t 'old/#' -T old/stuff/c --remove-retained --retained-only -W 1 \
    -v 2>/dev/null | sort
t mosquitto_sub -h "$H" -p "$P" -t 'old/#' --retained-only -v -W 1
echo "left over rc=$?"

say "inbox session: -l here-doc, -f, -s pipe, -n, -q 1/2"
t mosquitto_sub -h "$H" -p "$P" -c -i inbox -q 2 -t 'in/#' -E
echo "inbox created rc=$?"
t mosquitto_pub -h "$H" -p "$P" -q 1 -t in/lines -l <<'EOF'
first line
second line with  two spaces

after an empty line
EOF
echo "pub -l rc=$?"
printf 'binary\000data\377\n' > payload.bin
t mosquitto_pub -h "$H" -p "$P" -q 2 -t in/file -f payload.bin
echo "pub -f rc=$?"
printf 'multi\nline\nstdin' | t mosquitto_pub -h "$H" -p "$P" -q 1 -t in/stdin -s
echo "pub -s rc=$?"
t mosquitto_pub -h "$H" -p "$P" -q 2 -t in/null -n
echo "pub -n rc=$?"
t mosquitto_pub -h "$H" -p "$P" -t in/qos0 -m zero  # QoS 0: not queued for the offline session
t mosquitto_pub -h "$H" -p "$P" -q 2 -t in/qos2 -m two --repeat 3 --repeat-delay 0.01
t mosquitto_pub -h "$H" -p "$P" -q 1 -t in/missing -f does-not-exist.bin
echo "pub -f missing rc=$?"
t mosquitto_sub -h "$H" -p "$P" -c -i inbox -q 2 -t 'in/#' -C 10 -W 5 -F '%t q%q r%r l%l %x'
echo "inbox drained rc=$?"

say "MQTT v5 properties"
t mosquitto_sub -h "$H" -p "$P" -V mqttv5 -c -i v5inbox -q 1 -t 'v5/#' -E
echo "v5 inbox rc=$?"
t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -q 1 -t v5/props -m 'hello v5' \
    -D publish user-property k v -D publish user-property k2 'v 2' \
    -D publish content-type text/plain -D publish response-topic reply/here \
    -D publish correlation-data corr-1 -D publish payload-format-indicator 1 \
    -D connect user-property client script
echo "pub v5 rc=$?"
t mosquitto_pub -h "$H" -p "$P" -q 1 -t v5/plain -m 'from 311' -D publish user-property a b
echo "-D forces v5 rc=$?"
t mosquitto_sub -h "$H" -p "$P" -V mqttv5 -c -i v5inbox -q 1 -t 'v5/#' -C 2 -W 5 \
    -F '%t|%P|%C|%R|%D|%F|%p'
t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -r -t v5/json -m '{"a":1}' \
    -D publish content-type application/json -D publish user-property k v
t mosquitto_sub -h "$H" -p "$P" -V mqttv5 -t v5/json -C 1 -W 5 -F '%j'
t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -t v5/x -m x -D publish subscription-identifier 3
echo "bad property rc=$?"
t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -t v5/x -m x -D puback user-property a b
echo "bad command rc=$?"
t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -t v5/x -m x -D publish no-such-prop 1
echo "bad property name rc=$?"

say "client ids, debug output"
t mosquitto_pub -h "$H" -p "$P" -d -i script-pub -q 1 -r -t ids/one -m 1
echo "rc=$?"
t mosquitto_pub -h "$H" -p "$P" -d -I backup- -q 2 -r -t ids/two -m 22
echo "rc=$?"
t mosquitto_pub -h "$H" -p "$P" -i a -I b -t ids/x -m x
echo "-i and -I rc=$?"
t mosquitto_sub -h "$H" -p "$P" -c -t ids/x
echo "-c without -i rc=$?"
t mosquitto_sub -h "$H" -p "$P" -d -i script-sub -q 1 -t ids/one -t ids/two -C 2 -W 5 | sort
echo "sub -d rc=${PIPESTATUS[0]}"

say "-L URLs"
t mosquitto_pub -L "mqtt://$H:$P/url/topic" -r -m 'via url'
echo "pub -L rc=$?"
t mosquitto_sub -L "mqtt://$H:$P/url/topic" -C 1 -W 5 -v
echo "sub -L rc=$?"
t mosquitto_pub -L "MQTT://$H:$P/url/upper" -m x
echo "upper-case scheme rc=$?"
t mosquitto_pub -L "http://$H:$P/url/topic" -m x
echo "http rc=$?"
t mosquitto_pub -L "mqtt://$H:$P" -m x
echo "no topic rc=$?"

say "options file via XDG_CONFIG_HOME"
mkdir -p xdg
printf -- '-h %s\n-p %s\n# retained by default\n-r\n-q 1\n' "$H" "$P" > xdg/mosquitto_pub
printf -- '-h %s\n-p %s\n-v\n' "$H" "$P" > xdg/mosquitto_sub
XDG_CONFIG_HOME=$PWD/xdg t mosquitto_pub -t file/topic -m 'from options file'
echo "pub rc=$?"
XDG_CONFIG_HOME=$PWD/xdg t mosquitto_sub -t file/topic -C 1 -W 5 -F '%t %q %r %p'
echo "sub rc=$?"
XDG_CONFIG_HOME=$PWD/xdg t mosquitto_sub -t file/topic -C 1 -W 5
echo "sub -v from file rc=$?"
printf -- '-h %s\n-p %s\n-m default message\n' "$H" "$P" > xdg/mosquitto_pub
XDG_CONFIG_HOME=$PWD/xdg t mosquitto_pub -t file/topic2 -m other
echo "message in file and argv rc=$?"
printf -- '-h %s\n-p %s\n--no-such-option\n' "$H" "$P" > xdg/mosquitto_pub
XDG_CONFIG_HOME=$PWD/xdg t mosquitto_pub -t file/topic2 -m other 2>err.txt
echo "bad option in file rc=$?"; head -2 err.txt

say "request/response"
respond_once() {  # answer one request on svc/echo, replying to its response topic
    t mosquitto_sub -h "$H" -p "$P" -V mqttv5 -c -i responder -q 1 -t svc/echo -C 1 -W 10 \
        -F '%R %p' | while read -r rtopic payload; do
        t mosquitto_pub -h "$H" -p "$P" -V mqttv5 -q 1 -t "$rtopic" -m "echo: $payload"
    done
}
t mosquitto_sub -h "$H" -p "$P" -V mqttv5 -c -i responder -q 1 -t svc/echo -E
echo "responder session rc=$?"
respond_once & responder=$!
t mosquitto_rr -h "$H" -p "$P" -q 1 -t svc/echo -e svc/reply/1 -m 'ping 1' -W 10
echo "rr rc=$?"
wait "$responder"
respond_once & responder=$!
t mosquitto_rr -h "$H" -p "$P" -q 1 -t svc/echo -e svc/reply/2 -m 'ping 2' -W 10 -v
echo "rr -v rc=$?"
wait "$responder"
respond_once & responder=$!
t mosquitto_rr -h "$H" -p "$P" -q 1 -t svc/echo -e svc/reply/3 -m 'ping 3' \
    -W 10 -F '%t [%p] %l' -N
echo
echo "rr -F -N rc=$?"
wait "$responder"
t mosquitto_rr -h "$H" -p "$P" -t svc/nobody -e svc/reply/none -m hello -W 1
echo "rr no responder rc=$?"
t mosquitto_rr -h "$H" -p "$P" -t svc/echo -m 'no response topic' -W 1
echo "rr without -e rc=$?"

say "exit codes"
t mosquitto_sub -h "$H" -p "$P" -t nothing/here -W 1
echo "sub -W timeout rc=$?"
t mosquitto_sub -h "$H" -p "$DEAD" -t x -C 1 -W 5
echo "sub refused rc=$?"
t mosquitto_pub -h "$H" -p "$DEAD" -t x -m x
echo "pub refused rc=$?"
t mosquitto_pub -h "$H" -p "$DEAD" -t x -m x --quiet
echo "pub refused quiet rc=$?"
t mosquitto_pub -h "$H" -p "$P" -t 'bad/+/topic' -m x
echo "wildcard publish rc=$?"
t mosquitto_sub -h "$H" -p "$P" -t 'bad/#/topic' -W 1
echo "bad filter rc=$?"
t mosquitto_pub -h "$H" -p "$P" -t x -m x -q 3
echo "qos 3 rc=$?"
t mosquitto_pub -h "$H" -p "$P" -t x -m x -k 2
echo "keepalive 2 rc=$?"
t mosquitto_pub -h "$H" -p "$P" -t x -m x -n
echo "-m and -n rc=$?"
t mosquitto_sub -h "$H" -p "$P" -C 1 2>err.txt
echo "sub without -t rc=$?"; head -3 err.txt
t mosquitto_pub -h "$H" -p "$P" -m x 2>err.txt
echo "pub without -t rc=$?"; head -3 err.txt
t mosquitto_pub --bogus 2>err.txt
echo "unknown option rc=$?"; head -3 err.txt
t mosquitto_sub --version
echo "version rc=$?"

say "done"
