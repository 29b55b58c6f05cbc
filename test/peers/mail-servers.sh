#!/usr/bin/env bash
# mail-servers.sh up|down <workdir> — real mail servers for the peer tests, private to <workdir>:
#   Dovecot: IMAP and POP3 over implicit TLS, accepting SASL XOAUTH2 with JWTs it validates
#            locally (oauth2 passdb, introspection_mode = local) against the fake Entra's key;
#   Postfix: SMTP submission with STARTTLS required before AUTH (SASL through Dovecot),
#            delivering every recipient into Dovecot over LMTP; nothing leaves the machine.
# Everything listens on 127.0.0.1 only, on the ports given in the environment:
#   PEER_IMAPS_PORT PEER_POP3S_PORT PEER_SMTP_PORT
#   PEER_JWT_KEY (PEM public key file) PEER_JWT_KID PEER_JWT_ISSUER PEER_JWT_AUDIENCE
# Needs root (the daemons drop privileges) and Debian's dovecot-* and postfix packages
# (.ci/run installs them). No system-wide service is configured or started.
set -euo pipefail

cmd=${1:?usage: mail-servers.sh up|down <workdir>}
W=${2:?usage: mail-servers.sh up|down <workdir>}
W=$(cd "$W" && pwd)

down() {
  [[ -f $W/etc/dovecot.conf ]] && doveadm -c "$W/etc/dovecot.conf" stop >/dev/null 2>&1 || true
  [[ -f $W/postfix/etc/main.cf ]] && postfix -c "$W/postfix/etc" stop >/dev/null 2>&1 || true
  # Wait for the masters to go, so the ports are free for the next run.
  for _ in $(seq 50); do
    pgrep -f "$W/etc/dovecot.conf" >/dev/null || pgrep -f "$W/postfix" >/dev/null || return 0
    sleep 0.1
  done
}

if [[ $cmd == down ]]; then down; exit 0; fi
[[ $cmd == up ]] || { echo "unknown command $cmd" >&2; exit 2; }

MAIL_UID=$(id -u mail) MAIL_GID=$(id -g mail)
mkdir -p "$W"/{etc,run,state,log,mail,tls,keys/default/RS256,postfix/etc,postfix/spool,postfix/data}
# The daemons' own users must reach their files below the workdir.
chmod 755 "$W" "$W"/{etc,run,log,tls,keys,keys/default,keys/default/RS256}
chown "$MAIL_UID:$MAIL_GID" "$W/mail" && chmod 700 "$W/mail"
chown dovecot:dovecot "$W/state"
chown postfix:postfix "$W/postfix/data"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$W/tls/key.pem" -out "$W/tls/cert.pem" >/dev/null 2>&1
chmod 644 "$W/tls/cert.pem"

# Dovecot finds the token key as <dict prefix>default/<alg>/<kid>.
cp "$PEER_JWT_KEY" "$W/keys/default/RS256/$PEER_JWT_KID"
chmod 644 "$W/keys/default/RS256/$PEER_JWT_KID"

# An app-only token (idtyp=app, no user claim) opens whichever mailbox XOAUTH2's user= names,
# as Exchange Online does for an app with FullAccess.
cat >"$W/etc/oauth2-app.conf.ext" <<CONF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$W/keys/
issuers = $PEER_JWT_ISSUER
audience = $PEER_JWT_AUDIENCE
username_attribute = idtyp
username_format = app
active_attribute = idtyp
active_value = app
CONF
chmod 644 "$W/etc/oauth2-app.conf.ext"

cat >"$W/etc/dovecot.conf" <<CONF
instance_name = peer-$(printf %s "$W" | md5sum | cut -c1-10)
base_dir = $W/run/dovecot
state_dir = $W/state
listen = 127.0.0.1
protocols = imap pop3 lmtp
log_path = $W/log/dovecot.log
auth_verbose = yes
ssl = required
ssl_cert = <$W/tls/cert.pem
ssl_key = <$W/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
mail_location = maildir:$W/mail/%Lu/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox "Sent Items" {
    special_use = \\Sent
    auto = subscribe
  }
}
mail_max_userip_connections = 500
disable_plaintext_auth = yes
# Office 365's own set: no OAUTHBEARER (curl would prefer it).
auth_mechanisms = plain login xoauth2
auth_username_format = %Lu
auth_failure_delay = 0
passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = $W/etc/oauth2-app.conf.ext
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$W/mail/%Lu allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $PEER_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $PEER_POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0660
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
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
CONF
dovecot -c "$W/etc/dovecot.conf" </dev/null >>"$W/log/dovecot-start.log" 2>&1

PF=$W/postfix
cat >"$PF/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $W/log/postfix.log
maillog_file_prefixes = $W/log
myhostname = smtp.peer.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
message_size_limit = 52428800
smtpd_tls_cert_file = $W/tls/cert.pem
smtpd_tls_key_file = $W/tls/key.pem
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $W/run/dovecot/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sender_login_maps = regexp:$PF/etc/sender_login
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
virtual_mailbox_domains = static:all
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:unix:$W/run/dovecot/lmtp
default_transport = error:5.7.1 no outbound mail from the peer tests
CONF
# Like Exchange's SendAs rule: the envelope sender must be the authenticated mailbox.
printf '/^(.*)$/ ${1}\n' >"$PF/etc/sender_login"
cat >"$PF/etc/master.cf" <<CONF
127.0.0.1:$PEER_SMTP_PORT inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
# "check" creates the queue directories with the right owners before the first start.
postfix -c "$PF/etc" check >>"$W/log/postfix-start.log" 2>&1
postfix -c "$PF/etc" start </dev/null >>"$W/log/postfix-start.log" 2>&1

for port in "$PEER_IMAPS_PORT" "$PEER_POP3S_PORT" "$PEER_SMTP_PORT"; do
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    [[ $i == 100 ]] && { echo "port $port did not open" >&2; tail -20 "$W"/log/*.log >&2; exit 1; }
    sleep 0.1
  done
done
echo "up: imaps $PEER_IMAPS_PORT pop3s $PEER_POP3S_PORT smtp $PEER_SMTP_PORT ca $W/tls/cert.pem"
