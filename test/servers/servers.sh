#!/usr/bin/env bash
# Real Dovecot and Postfix on 127.0.0.1 for mailtap's tests, run from our own configuration
# (no systemd, never the system services). Facts behind each setting: shared/notes/real-servers.md.
#
#   servers.sh install                      apt packages for the daemons and the client tools
#   servers.sh start | stop | status       status exits 0 when every port sends its greeting
#   servers.sh dir                          the run directory of the instance serving the ports
#   servers.sh reset-mailbox USER           empties USER's INBOX
#   servers.sh set-password USER PASSWORD   Dovecot re-reads the passwd-file on its next login
#
# Ports, users and paths are mirrored in test/servers/ports.ts; keep both in step.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$(realpath -m "${MAILTAP_SERVERS_DIR:-$here/run}")

# Unix socket paths are limited to 108 bytes and both daemons keep sockets under these two
# directories, so a deep checkout gets a short directory in /tmp instead.
if [ ${#run} -le 60 ]; then
  sockdir=$run/sock
else
  sockdir=/tmp/mailtap-servers-$(printf '%s' "$run" | cksum | cut -d' ' -f1)
fi

host=127.0.0.1
domain=mail.test
port_imap=31143 port_imaps=31993 port_pop3=31110 port_pop3s=31995
port_smtp=31025 port_submission=31587 port_smtps=31465
# user:password; alice and bob are the documented ones, the others give test files a mailbox
# of their own so that files running in parallel never expunge each other's mail.
users="alice:alicepw bob:bobpw carol:carolpw dave:davepw erin:erinpw frank:frankpw grace:gracepw heidi:heidipw ivan:ivanpw judy:judypw ken:kenpw leo:leopw mia:miapw nina:ninapw oscar:oscarpw"

dovecot_conf=$run/dovecot/dovecot.conf
dovecot_base=$sockdir/dovecot
postfix_dir=$run/postfix
postfix_queue=$sockdir/postfix-queue
passwd_file=$run/dovecot/passwd
tls_dir=$run/tls
mail_uid=$(id -u mail 2>/dev/null || echo 8)
mail_gid=$(getent group mail | cut -d: -f3 || echo 8)
mail_gid=${mail_gid:-8}

# Which run directory serves the fixed ports right now: a second checkout (a CI check in a
# fresh clone) then uses that instance's certificate and mailboxes instead of its own empty one.
current_file=/tmp/mailtap-test-servers.dir

say() { printf '%s\n' "$*"; }
die() { printf 'servers.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------- install

cmd_install() {
  local wanted=(dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix swaks
    libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl curl openssl socat
    chromium tshark python3 ca-certificates netcat-openbsd)
  local missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all packages already installed"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "install needs root (missing: ${missing[*]})"
  command -v apt-get >/dev/null || die "install needs apt-get (missing: ${missing[*]})"
  say "installing: ${missing[*]}"
  # Postfix's installer otherwise asks which setup to write; tshark whether to be setuid.
  debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string mail.test
wireshark-common wireshark-common/install-setuid boolean false
EOF
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# ------------------------------------------------------------------------------ configuration

# Writes stdin to $1 only when it differs, so a running daemon's files keep their mtime.
# Returns 0 when the file changed.
write_if_changed() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
  return 0
}

make_tls() {
  mkdir -p "$tls_dir"
  if [ ! -s "$tls_dir/cert.pem" ] || [ ! -s "$tls_dir/key.pem" ]; then
    # CN and SAN mail.test: a route naming 127.0.0.1 must see a hostname mismatch.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
      -keyout "$tls_dir/key.pem.tmp" -out "$tls_dir/cert.pem.tmp" >/dev/null 2>&1
    chmod 0644 "$tls_dir/key.pem.tmp" "$tls_dir/cert.pem.tmp"
    mv -f "$tls_dir/key.pem.tmp" "$tls_dir/key.pem"
    mv -f "$tls_dir/cert.pem.tmp" "$tls_dir/cert.pem"
  fi
  if [ ! -s "$tls_dir/dh.pem" ]; then
    openssl dhparam -dsaparam -out "$tls_dir/dh.pem.tmp" 2048 >/dev/null 2>&1
    mv -f "$tls_dir/dh.pem.tmp" "$tls_dir/dh.pem"
  fi
}

write_passwd() {
  # Passwords in the PLAIN scheme: CRAM-MD5 and APOP need the clear text.
  local u
  for u in $users; do printf '%s:{PLAIN}%s::::::\n' "${u%%:*}" "${u#*:}"; done \
    | write_if_changed "$passwd_file" || true
}

write_dovecot_conf() {
  write_if_changed "$dovecot_conf" <<EOF
# Written by test/servers/servers.sh; edits are overwritten.
instance_name = mailtap-test
protocols = imap pop3 lmtp
listen = $host
hostname = $domain
base_dir = $dovecot_base
state_dir = $run/dovecot/state
log_path = $run/dovecot/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
# Without this the auth process waits 5 s for the stats socket at shutdown.
stats_writer_socket_path =

# The proxy must be able to show AUTH in the clear.
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 apop
# Tests send wrong passwords on purpose; no growing penalty.
auth_failure_delay = 0

ssl = yes
ssl_cert = <$tls_dir/cert.pem
ssl_key = <$tls_dir/key.pem
ssl_dh = <$tls_dir/dh.pem
ssl_min_protocol = TLSv1.2

first_valid_uid = $mail_uid
first_valid_gid = $mail_gid
mail_location = maildir:~/Maildir

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $passwd_file
}
# Any local part of $domain gets a mailbox (Postfix accepts every @$domain recipient).
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$run/mail/%n allow_all_users=yes
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    port = $port_imap
  }
  inet_listener imaps {
    port = $port_imaps
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $port_pop3
  }
  inet_listener pop3s {
    port = $port_pop3s
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
  unix_listener auth-userdb {
    mode = 0600
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol lmtp {
  postmaster_address = postmaster@$domain
}
EOF
}

write_postfix_conf() {
  local changed=1
  write_if_changed "$postfix_dir/main.cf" <<EOF && changed=0
# Written by test/servers/servers.sh; edits are overwritten.
compatibility_level = 3.6
queue_directory = $postfix_queue
data_directory = $postfix_dir/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = $host
inet_protocols = ipv4
myhostname = $domain
mydomain = $domain
myorigin = $domain
mydestination =
mynetworks = 127.0.0.1/32
local_recipient_maps =
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
# Room for the 20 MB DATA test (the default limit is 10 MB); Dovecot's LMTP takes it too.
message_size_limit = 52428800

maillog_file = $postfix_dir/postfix.log
maillog_file_prefixes = $postfix_dir

# Every @$domain recipient is accepted and handed to Dovecot over LMTP.
virtual_mailbox_domains = $domain
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:unix:$dovecot_base/lmtp
# Nothing ever leaves the machine: authenticated relay is accepted, then bounces here.
# (With the default smtpd_reject_unlisted_recipient=yes, smtpd would refuse such a recipient
# at RCPT time already, because it resolves to the error transport.)
smtpd_reject_unlisted_recipient = no
default_transport = error:mailtap test bed never relays
relay_transport = error:mailtap test bed never relays
local_transport = error:no local delivery in the mailtap test bed

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dovecot_base/auth-postfix
# No permit_mynetworks: an unauthenticated client on 127.0.0.1 gets the usual 554.
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =

smtpd_tls_cert_file = $tls_dir/cert.pem
smtpd_tls_key_file = $tls_dir/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_loglevel = 0
EOF
  # The chroot column is n everywhere: nothing is set up for a chroot.
  write_if_changed "$postfix_dir/master.cf" <<EOF && changed=0
# Written by test/servers/servers.sh; edits are overwritten.
# service  type  private unpriv chroot wakeup maxproc command
$host:$port_smtp inet n - n - - smtpd
  -o syslog_name=postfix/mx
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=no
$host:$port_submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
$host:$port_smtps inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_auth_only=no
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  # Postfix sleeps ~2 s at start when main.cf is only seconds old.
  touch -d '@'$(( $(date +%s) - 120 )) "$postfix_dir/main.cf" "$postfix_dir/master.cf"
  return $changed
}

prepare() {
  command -v dovecot >/dev/null || die "dovecot is not installed (run: servers.sh install)"
  command -v postfix >/dev/null || die "postfix is not installed (run: servers.sh install)"
  mkdir -p "$run/dovecot/state" "$run/mail" "$postfix_dir/data" "$sockdir" "$postfix_queue"
  chown "$mail_uid:$mail_gid" "$run/mail"
  # Postfix's master takes its lock file in data_directory as the mail_owner.
  chown postfix "$postfix_dir/data"
  chmod 0755 "$run" "$run/dovecot" "$sockdir"
  make_tls
  write_passwd
}

# ------------------------------------------------------------------------------ daemons

dovecot_running() {
  local pid
  pid=$(cat "$dovecot_base/master.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

postfix_running() {
  postfix -c "$postfix_dir" status >/dev/null 2>&1
}

# The port list: name port tls-mode greeting-pattern
port_table() {
  cat <<EOF
imap $port_imap starttls
imaps $port_imaps implicit
pop3 $port_pop3 starttls
pop3s $port_pop3s implicit
smtp $port_smtp starttls
submission $port_submission starttls
smtps $port_smtps implicit
EOF
}

# Prints one line per port; exits 0 when every port greeted within $1 seconds.
check_greetings() {
  local wait_s=$1
  local args=()
  local name port mode
  while read -r name port mode; do args+=("$name:$port:$mode"); done < <(port_table)
  python3 "$here/greet.py" --host "$host" --wait "$wait_s" "${args[@]}"
}

cmd_start() {
  prepare
  local dc=1 pc=1
  write_dovecot_conf && dc=0
  write_postfix_conf && pc=0
  # The daemons must not inherit our stdout/stderr: `start | tee` would never end.
  if dovecot_running; then
    [ $dc -eq 0 ] && dovecot -c "$dovecot_conf" reload </dev/null >/dev/null 2>&1
  else
    dovecot -c "$dovecot_conf" </dev/null >>"$run/dovecot/start.log" 2>&1 \
      || die "dovecot failed to start: $(tail -n 5 "$run/dovecot/start.log" "$run/dovecot/dovecot.log" 2>/dev/null)"
  fi
  if postfix_running; then
    [ $pc -eq 0 ] && postfix -c "$postfix_dir" reload </dev/null >/dev/null 2>&1
  else
    postfix -c "$postfix_dir" start </dev/null >>"$postfix_dir/start.log" 2>&1 \
      || die "postfix failed to start: $(tail -n 5 "$postfix_dir/start.log" "$postfix_dir/postfix.log" 2>/dev/null)"
  fi
  check_greetings 20 || die "not every port greeted; logs: $run/dovecot/dovecot.log $postfix_dir/postfix.log"
  printf '%s\n' "$run" >"$current_file"
}

# Waits until pid $1 is gone (at most ~10 s).
wait_gone() {
  local pid=$1 i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

cmd_stop() {
  # Both at once: Dovecot alone takes ~3 s to wind down, and its auth process lives on
  # until Postfix's smtpd processes close their SASL connections to it.
  local pids=() pid
  if [ -f "$postfix_dir/main.cf" ] && postfix_running; then
    pid=$(tr -d ' ' <"$postfix_queue/pid/master.pid" 2>/dev/null) || pid=
    postfix -c "$postfix_dir" stop </dev/null >/dev/null 2>&1 &
    [ -n "$pid" ] && pids+=("postfix:$pid")
  fi
  if [ -f "$dovecot_conf" ] && dovecot_running; then
    pid=$(cat "$dovecot_base/master.pid")
    dovecot -c "$dovecot_conf" stop </dev/null >/dev/null 2>&1 &
    pids+=("dovecot:$pid")
  fi
  wait
  [ "$(cat "$current_file" 2>/dev/null)" = "$run" ] && rm -f "$current_file"
  for pid in "${pids[@]}"; do
    wait_gone "${pid#*:}" || die "${pid%%:*} (pid ${pid#*:}) did not stop"
    say "${pid%%:*} stopped"
  done
}

cmd_status() {
  check_greetings 0
}

cmd_reset_mailbox() {
  local user=${1:?usage: servers.sh reset-mailbox USER}
  dovecot_running || die "dovecot is not running"
  doveadm -c "$dovecot_conf" expunge -u "$user" mailbox INBOX all </dev/null
}

cmd_set_password() {
  local user=${1:?usage: servers.sh set-password USER PASSWORD} password=${2?usage: servers.sh set-password USER PASSWORD}
  [ -f "$passwd_file" ] || die "no passwd-file yet (run: servers.sh start)"
  # Dovecot re-reads the passwd-file when its mtime (whole seconds) or size changed, so a
  # second change within the same second, to a password of the same length, gets a later mtime.
  local before after
  before=$(stat -c %Y "$passwd_file")
  { grep -v "^$user:" "$passwd_file" || true; printf '%s:{PLAIN}%s::::::\n' "$user" "$password"; } \
    | write_if_changed "$passwd_file" || return 0
  after=$(stat -c %Y "$passwd_file")
  [ "$after" -gt "$before" ] || touch -d "@$((before + 1))" "$passwd_file"
  # Dovecot's auth process stats the file at most once per second of its clock: a login in
  # the second we wrote may still have been checked against the old file. Returning only
  # once the next second began makes the change certain for whatever the caller does next.
  local ns ms
  ns=$(date +%N)
  ms=$(( (1000000000 - 10#$ns) / 1000000 + 20 ))
  sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset-mailbox) shift; cmd_reset_mailbox "$@" ;;
  set-password) shift; cmd_set_password "$@" ;;
  dir) cat "$current_file" 2>/dev/null || say "$run" ;;
  *) die "usage: servers.sh install|start|stop|status|dir|reset-mailbox USER|set-password USER PASSWORD" ;;
esac
