"""Real Python mail clients (imaplib, poplib, smtplib) driven by the integration tests.

Usage: python3 pyclient.py < request.json  — prints one JSON result on stdout.
The request names the client, how to connect (plain, starttls, implicit), the credentials
and what to do; the result reports what the client saw (counts, sha256 of bodies, errors).
Only the standard library is used, as a legacy script would.
"""
import base64
import hashlib
import imaplib
import json
import poplib
import smtplib
import ssl
import sys


def tls_context(req):
    ctx = ssl.create_default_context(cadata=req["ca"])
    return ctx


def digest(data):
    return hashlib.sha256(data).hexdigest()


def imap(req):
    host, port, mode = req["host"], req["port"], req["tls"]
    if mode == "implicit":
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(req))
    else:
        conn = imaplib.IMAP4(host, port)
        if mode == "starttls":
            conn.starttls(ssl_context=tls_context(req))
    result = {"greetingCapabilities": list(conn.capabilities)}
    try:
        if req.get("auth") == "PLAIN":
            authzid = req.get("authzid", "")
            payload = f"{authzid}\0{req['user']}\0{req['password']}".encode()
            typ, data = conn.authenticate("PLAIN", lambda _: payload)
        elif req.get("auth") == "LOGIN":
            answers = iter([req["user"].encode(), req["password"].encode()])
            typ, data = conn.authenticate("LOGIN", lambda _: next(answers))
        else:
            # imaplib sends LOGIN arguments as ASCII unless told otherwise; a legacy script
            # with a non-ASCII password has to do the same.
            conn._encoding = "utf-8"
            typ, data = conn.login(req["user"], req["password"])
    except imaplib.IMAP4.error as error:
        result["loginError"] = str(error)
        return result
    result["loginResponse"] = [d.decode() for d in data]
    typ, data = conn.list()
    result["folders"] = [d.decode() for d in data]
    typ, data = conn.select("INBOX")
    result["exists"] = int(data[0])
    typ, data = conn.search(None, "ALL")
    result["search"] = data[0].decode().split()
    bodies = []
    for num in result["search"]:
        typ, data = conn.fetch(num, "(RFC822)")
        bodies.append(digest(data[0][1]))
    result["bodies"] = bodies
    conn.logout()
    return result


def pop3(req):
    host, port, mode = req["host"], req["port"], req["tls"]
    if mode == "implicit":
        conn = poplib.POP3_SSL(host, port, context=tls_context(req))
    else:
        conn = poplib.POP3(host, port)
        if mode == "starttls":
            conn.stls(context=tls_context(req))
    result = {"capa": sorted(conn.capa().keys())}
    try:
        if req.get("auth") == "PLAIN":
            payload = base64.b64encode(f"\0{req['user']}\0{req['password']}".encode()).decode()
            result["loginResponse"] = conn._shortcmd(f"AUTH PLAIN {payload}").decode()
        else:
            conn.user(req["user"])
            result["loginResponse"] = conn.pass_(req["password"]).decode()
    except poplib.error_proto as error:
        result["loginError"] = error.args[0].decode() if isinstance(error.args[0], bytes) else str(error)
        return result
    count, size = conn.stat()
    result["count"] = count
    bodies = []
    for i in range(1, count + 1):
        resp, lines, octets = conn.retr(i)
        bodies.append(digest(b"\r\n".join(lines) + b"\r\n"))
    result["bodies"] = bodies
    conn.quit()
    return result


def smtp_login(conn, mechanism, user, password, initial_response):
    """smtplib's own AUTH when it can; it encodes credentials as ASCII, so a script with a
    non-ASCII password has to send the UTF-8 SASL exchange itself, as done here."""
    if (user + password).isascii():
        conn.user, conn.password = user, password
        conn.auth(mechanism, getattr(conn, "auth_" + mechanism.lower()), initial_response_ok=initial_response)
        return
    b64 = lambda text: base64.b64encode(text.encode("utf-8")).decode()
    steps = [b64(f"\0{user}\0{password}")] if mechanism == "PLAIN" else [b64(user), b64(password)]
    code, resp = conn.docmd("AUTH", f"{mechanism} {steps.pop(0)}" if initial_response else mechanism)
    while code == 334 and steps:
        code, resp = conn.docmd(steps.pop(0))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def smtp(req):
    host, port, mode = req["host"], req["port"], req["tls"]
    result = {}
    if mode == "implicit":
        conn = smtplib.SMTP_SSL(host, port, context=tls_context(req))
    else:
        # Connected by hand to keep the greeting, which SMTP(host, port) drops; starttls() names
        # the server from _host, which only the constructor sets.
        conn = smtplib.SMTP()
        conn._host = host
        result["greeting"] = conn.connect(host, port)[1].decode()
        if mode == "starttls":
            conn.ehlo()
            result["featuresBeforeTls"] = sorted(conn.esmtp_features)
            conn.starttls(context=tls_context(req))
    conn.ehlo()
    result["features"] = {name: value for name, value in conn.esmtp_features.items()}
    if req.get("auth"):
        try:
            smtp_login(conn, req["auth"], req["user"], req["password"], req.get("initialResponse", True))
        except smtplib.SMTPResponseException as error:
            result["loginError"] = [error.smtp_code, error.smtp_error.decode()]
            return result
    sent = []
    for message in req.get("messages", []):
        raw = base64.b64decode(message["raw"]) if "raw" in message else message["text"].encode()
        try:
            refused = conn.sendmail(message["from"], message["to"], raw)
            sent.append({"ok": True, "refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}})
        except smtplib.SMTPRecipientsRefused as error:
            sent.append({"ok": False, "recipientsRefused": {k: [v[0], v[1].decode()] for k, v in error.recipients.items()}})
        except smtplib.SMTPResponseException as error:
            sent.append({"ok": False, "code": error.smtp_code, "text": error.smtp_error.decode()})
    result["sent"] = sent
    conn.quit()
    return result


if __name__ == "__main__":
    request = json.load(sys.stdin)
    print(json.dumps({"imap": imap, "pop3": pop3, "smtp": smtp}[request["client"]](request)))
