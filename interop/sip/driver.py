#!/usr/bin/env python3
"""A driver (docs/driver-protocol.md) for PJSIP's SIP user agent, through pjsua2 (PJSIP 2.15's
own Python bindings, pinned in requirements.txt, installed by ./install):

    imspec client-test scenarios/clients/sip --driver 'interop/sip/.venv/bin/python interop/sip/driver.py'

imspec starts it once per case with IMSPEC_SIP=HOST:PORT (its registrar and proxy, TCP) and
IMSPEC_CASE; ops arrive on stdin, one JSON object a line; answers and events go to stdout. The
driver configures pjsua2 as an application would (one account registering over TCP through the
server, MWI subscription on) and reports what pjsua2 tells its application.

Ops: login {user, password, [domain]}, send {to, text}, logout, ping.
Events: ready, received {from, text}, message-waiting {new, old, waiting}.
"""

import json
import os
import queue
import sys
import threading

# stdout is the driver protocol's alone: keep a private copy of it, then point file
# descriptor 1 at stderr so that anything PJSIP's C code prints goes there.
PROTO = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr

import pjsua2 as pj  # noqa: E402  (after the redirection: PJSIP may print when loaded)


def out(obj):
    PROTO.write(json.dumps(obj) + "\n")
    PROTO.flush()


def log(text):
    sys.stderr.write(f"driver.py: {text}\n")
    sys.stderr.flush()


ADDR = os.environ.get("IMSPEC_SIP")
if not ADDR:
    log("IMSPEC_SIP is not set (imspec client-test sets it)")
    sys.exit(2)
HOST = ADDR.rsplit(":", 1)[0]
SERVER = f"sip:{ADDR};transport=tcp"


class LogToStderr(pj.LogWriter):
    """PJSIP's log, to stderr (imspec shows its tail when a case fails)."""

    def write(self, entry):
        sys.stderr.write(entry.msg if entry.msg.endswith("\n") else entry.msg + "\n")


def summary_counts(body):
    """(waiting, new, old) of an application/simple-message-summary body (RFC 3842 §5):
    waiting a boolean (None without the line), new and old summed over the message classes,
    as the reference client does."""
    waiting, new, old = None, 0, 0
    for line in body.splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "messages-waiting":
            waiting = value.lower() == "yes"
        elif name.endswith("-message"):
            counts = value.split()[0] if value else ""
            n, slash, o = counts.partition("/")
            if slash and n.isdigit() and o.isdigit():
                new, old = new + int(n), old + int(o)
    return waiting, new, old


def body_of(whole):
    """The body of a whole SIP message as text."""
    _, sep, body = whole.partition("\r\n\r\n")
    return body if sep else ""


class Account(pj.Account):
    def __init__(self, driver):
        super().__init__()
        self.driver = driver

    def onRegState(self, prm):
        log(f"registration: {prm.code} {prm.reason} (expires {prm.expiration})")
        self.driver.registration(prm.code, prm.reason, prm.expiration)

    def onInstantMessage(self, prm):
        # pjsua answers the MESSAGE itself (200) before telling the application.
        out({"event": "received", "from": prm.fromUri, "text": prm.msgBody})

    def onInstantMessageStatus(self, prm):
        self.driver.sent(prm.toUri, prm.msgBody, prm.code, prm.reason)

    def onMwiInfo(self, prm):
        waiting, new, old = summary_counts(body_of(prm.rdata.wholeMsg))
        out({"event": "message-waiting", "waiting": waiting, "new": new, "old": old})


class Driver:
    def __init__(self):
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # every callback runs in libHandleEvents, on this thread
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = "imspec-driver pjsua2"
        self.writer = LogToStderr()
        cfg.logConfig.writer = self.writer
        cfg.logConfig.level = int(os.environ.get("IMSPEC_PJSIP_LOG", "3"))
        cfg.logConfig.consoleLevel = cfg.logConfig.level
        self.ep.libInit(cfg)
        tcp = pj.TransportConfig()
        tcp.port = 0
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcp)
        self.ep.audDevManager().setNullDev()  # no sound card: messages only
        self.ep.libStart()
        self.account = None
        self.domain = HOST
        self.login_id = None  # the login op waiting for the registrar's answer
        self.logout_id = None  # the logout op waiting for the un-REGISTER's answer
        self.sending = []  # [(to, text, id)] waiting for their final response, oldest first
        self.buddies = {}

    def answer(self, op_id, error=None):
        if error is None:
            out({"ok": True, "id": op_id})
        else:
            out({"ok": False, "id": op_id, "error": error})

    # -- pjsua2 callbacks ----------------------------------------------------------------

    def registration(self, code, reason, expiration):
        if self.login_id is not None:
            op_id, self.login_id = self.login_id, None
            self.answer(op_id, None if 200 <= code < 300 else f"{code} {reason}")
        elif self.logout_id is not None and (expiration == 0 or code >= 300):
            op_id, self.logout_id = self.logout_id, None
            self.answer(op_id)

    def sent(self, to, text, code, reason):
        for n, (t, body, op_id) in enumerate(self.sending):
            if t == to and body == text:
                del self.sending[n]
                self.answer(op_id, None if 200 <= code < 300 else f"{code} {reason}")
                return
        log(f"final response {code} to a MESSAGE no op sent ({to})")

    # -- ops -----------------------------------------------------------------------------

    def op(self, op):
        op_id, name = op.get("id"), op.get("op")
        try:
            if name == "login":
                self.login(op_id, op)
            elif name == "send":
                self.send(op_id, op)
            elif name == "logout":
                self.logout(op_id)
            elif name == "ping":
                # Ops and received messages are handled in order on this thread: everything
                # read before the ping has been handled.
                self.answer(op_id)
            else:
                self.answer(op_id, "unsupported")
        except pj.Error as e:
            self.answer(op_id, e.info())
        except (KeyError, TypeError, ValueError) as e:
            self.answer(op_id, str(e))

    def login(self, op_id, op):
        user = op["user"]
        self.domain = op.get("domain") or HOST
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{user}@{self.domain}"
        cfg.regConfig.registrarUri = SERVER
        # Requests go through the server (its registrar is also the proxy), over TCP.
        cfg.sipConfig.proxies.append(f"{SERVER};lr")
        cfg.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", user, 0, op.get("password") or "")
        )
        cfg.mwiConfig.enabled = True  # SUBSCRIBE to message-summary (RFC 3842)
        self.login_id = op_id
        self.account = Account(self)
        self.account.create(cfg)

    def send(self, op_id, op):
        if self.account is None:
            raise ValueError("not logged in")
        to, text = op["to"], op["text"]
        uri = to if to.startswith("sip:") else f"sip:{to}@{self.domain}"
        buddy = self.buddies.get(uri)
        if buddy is None:
            cfg = pj.BuddyConfig()
            cfg.uri = uri
            cfg.subscribe = False
            buddy = pj.Buddy()
            buddy.create(self.account, cfg)
            self.buddies[uri] = buddy
        prm = pj.SendInstantMessageParam()
        prm.content = text
        prm.contentType = "text/plain"
        self.sending.append((uri, text, op_id))
        buddy.sendInstantMessage(prm)

    def logout(self, op_id):
        if self.account is None:
            raise ValueError("not logged in")
        self.logout_id = op_id
        self.account.setRegistration(False)


def read_stdin(lines):
    for line in sys.stdin:
        if line.strip():
            lines.put(line)
    lines.put(None)


def main():
    driver = Driver()
    lines = queue.Queue()
    threading.Thread(target=read_stdin, args=(lines,), daemon=True).start()
    out({"event": "ready"})
    while True:
        driver.ep.libHandleEvents(10)
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is None:  # imspec closed stdin: the case is over
                os._exit(0)
            try:
                op = json.loads(line)
            except ValueError:
                log(f"not JSON: {line.rstrip()}")
                continue
            driver.op(op)


if __name__ == "__main__":
    main()
