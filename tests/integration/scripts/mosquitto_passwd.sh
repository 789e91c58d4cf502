#!/bin/bash
# mosquitto_passwd as a provisioning script uses it: create a password file, add, update and
# delete users, reload the broker with SIGHUP and check who can log in, with the exit codes of
# mosquitto_pub/_sub/_rr for refused logins. Run by test_clients_script.py with Debian's tools
# and with mq's, like mosquitto_clients.sh.
#
# Environment: H (host), AP (port of a broker whose password_file is $PWFILE, pid $AUTH_PID),
# W (a scratch directory).

set -u
t() { timeout -k 2 15 "$@"; }
say() { printf '\n== %s\n' "$*"; }

cd "$W" || exit 1

say "mosquitto_passwd"
t mosquitto_passwd -c -b "$PWFILE" alice secret
echo "create rc=$?"
t mosquitto_passwd -b "$PWFILE" bob hunter2
t mosquitto_passwd -H sha512 -b "$PWFILE" carol pass
t mosquitto_passwd -I 1000 -b "$PWFILE" dave pass
t mosquitto_passwd -b "$PWFILE" alice secret
echo "update rc=$?"
# user:$7$<iterations>$<salt>$<hash> -- show everything but the random salt and hash
sed -E 's/\$([A-Za-z0-9+\/=]+)\$([A-Za-z0-9+\/=]+)$/$<salt:\1>$<hash:\2>/' "$PWFILE" |
    awk -F'<salt:' '{split($2, s, ">"); split($0, h, "<hash:"); sub(/>.*/, "", h[2]);
        print $1 "<salt " length(s[1]) "><hash " length(h[2]) ">"}'
ls -l "$PWFILE" | cut -c1-10
kill -HUP "$AUTH_PID"
for i in $(seq 100); do
    t mosquitto_pub -h "$H" -p "$AP" -u alice -P secret -t auth/ok -m ok --quiet && break
    sleep 0.05
done
echo "alice accepted after reload: $([ "$i" -lt 100 ] && echo yes || echo no)"
for u in bob:hunter2 carol:pass dave:pass; do
    t mosquitto_pub -h "$H" -p "$AP" -u "${u%%:*}" -P "${u#*:}" -t auth/ok -m ok
    echo "${u%%:*} rc=$?"
done
t mosquitto_pub -h "$H" -p "$AP" -u alice -P wrong -t auth/x -m x
echo "bad password rc=$?"
t mosquitto_pub -h "$H" -p "$AP" -u alice -P wrong -t auth/x -m x -V mqttv5
echo "bad password v5 rc=$?"
t mosquitto_sub -h "$H" -p "$AP" -u alice -P wrong -t auth/x -W 5
echo "sub bad password rc=$?"
t mosquitto_rr -h "$H" -p "$AP" -u alice -P wrong -t auth/x -e auth/y -m x -W 5
echo "rr bad password rc=$?"
t mosquitto_pub -L "mqtt://alice:secret@$H:$AP/auth/url" -m via-url
echo "-L with credentials rc=$?"
t mosquitto_passwd -D "$PWFILE" bob
echo "delete rc=$?"
t mosquitto_passwd -D "$PWFILE" nobody
echo "delete missing rc=$?"
cut -d: -f1 "$PWFILE"
kill -HUP "$AUTH_PID"
for i in $(seq 100); do
    t mosquitto_pub -h "$H" -p "$AP" -u bob -P hunter2 -t auth/x -m x --quiet || break
    sleep 0.05
done
echo "bob refused after reload: $([ "$i" -lt 100 ] && echo yes || echo no)"
t mosquitto_passwd -b "$PWFILE" 'bad:name' pw
echo "colon in name rc=$?"
t mosquitto_passwd -b "$PWFILE" onlyuser
echo "missing password rc=$?"
t mosquitto_passwd -H md5 -b "$PWFILE" eve pw
echo "bad hash rc=$?"
t mosquitto_passwd -b missing-dir/pw eve pw
echo "missing file rc=$?"

say "done"
