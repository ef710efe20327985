#!/usr/bin/env python3
"""Issue 18's failover test: three `onecard serve` processes on a Patroni cluster behind HAProxy
(scripts/ha-cluster.sh), load from 12 concurrent clients — QR acceptances and card lifecycle steps, each under an
Idempotency-Key, retried with the same key on another process when the answer is 503 or none — and the leader
SIGKILLed mid-load. Afterwards:

- every request answered 2xx is in the database exactly once (acceptances by terminal and key, lifecycle steps by
  actor and key), and its retries changed nothing;
- a payment batch whose bank call is in flight at the kill completes with every payment credited exactly once (the
  bank-sim's statement is the witness);
- every request was answered, none took longer than the 10 s a switch may cost, none was a 500: a request the
  switch caught is answered 503 application/problem+json `database_unavailable` with Retry-After;
- every process serves again within 15 s of the kill, without a restart;
- the old leader, started again, rejoins as a replica;
- every process stops on SIGTERM within its grace period (10 s);
- the whole test takes at most 3 minutes.

Usage: python3 Tests/HA/failover_test.py --bin .build/debug/onecard
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENTS = 12
LOAD_SECONDS = 24
KILL_AT = 7
SWITCH_BOUND = 10.0      # what a switch may cost one request (issue 18)
SERVE_AGAIN_BOUND = 15.0
STOP_BOUND = 10.0        # SIGTERM to exit: the grace period
TEST_BOUND = 180.0       # the whole test, cluster included
PAYEES = 40
BANK_LATENCY_MS = 6000   # the bank answers after 6 s: the batch, sent a second before the kill, is at the bank when it comes


def say(*args):
    print("[failover]", *args, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pg_bin():
    base = "/usr/lib/postgresql"
    return os.path.join(base, sorted(os.listdir(base), key=lambda v: [int(x) for x in v.split(".")])[-1], "bin")


class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="onecard-ha-test-")
        os.rmdir(self.dir)  # ha-cluster.sh makes it
        self.env = dict(os.environ, ONECARD_HA_DIR=self.dir)
        self.env.pop("PGPASSWORD", None)

    def script(self, *args, check=True):
        return subprocess.run([os.path.join(ROOT, "scripts", "ha-cluster.sh"), *args], env=self.env, capture_output=True, text=True,
                              check=check, timeout=150)

    def up(self):
        out = self.script("up").stdout
        self.url = re.search(r"ONECARD_HA_URL=(\S+)", out).group(1)
        ports = dict(line.split("=", 1) for line in open(os.path.join(self.dir, "ports.env")).read().split())
        self.rest = {m: int(ports["REST_" + m]) for m in ("m1", "m2", "m3")}
        return self.url

    def role_answers(self, member, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.rest[member]}{path}", timeout=1) as r:
                return r.status == 200
        except Exception:
            return False

    def psql(self, sql):
        return subprocess.run([os.path.join(pg_bin(), "psql"), self.url, "-Atqc", sql], capture_output=True, text=True, check=True,
                              timeout=60).stdout

    def down(self):
        self.script("down", check=False)


class Node:
    def __init__(self, binary, url, data_dir, demo):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", data_dir, "--database", url,
                "--rate-limit-terminal", "0", "--rate-limit-public", "0"] + (["--demo"] if demo else [])
        env = dict(os.environ, ONECARD_DB_CONNECTION_WAIT="5")
        self.log = open(os.path.join(data_dir, f"serve-{self.port}.log"), "w")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = []
        deadline = time.time() + 90
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if "listening on" in line:
                break
        else:
            raise RuntimeError("serve did not start")
        if not any("listening on" in l for l in self.lines):
            raise RuntimeError("serve did not start:\n" + "\n".join(self.lines[-30:]))
        threading.Thread(target=self.drain, daemon=True).start()

    def drain(self):
        for line in self.process.stdout:
            self.log.write(line)

    def logins(self):
        out = []
        for line in self.lines:
            m = re.match(r"\s+(\w+)\s+(.+?)\s+/\s+(\S+)\s*$", line)
            if m:
                out.append(m.groups())
        return out


def resident_id(i):
    """A valid resident ID number (GB 11643 MOD 11-2) in Dongcheng, born 1960-1-1 plus i days."""
    born = time.gmtime(time.mktime((1960, 1, 1, 12, 0, 0, 0, 0, 0)) + i * 86400)
    body = f"110101{born.tm_year:04d}{born.tm_mon:02d}{born.tm_mday:02d}{i % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]))
    return body + "10X98765432"[total % 11]


def call(base, method, path, body=None, token=None, key=None, timeout=SWITCH_BOUND + 2):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if key:
        req.add_header("Idempotency-Key", key)
    started = time.time()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}"), time.time() - started, r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {"raw": raw[:200].decode("utf-8", "replace")}
        return e.code, payload, time.time() - started, e.headers
    except Exception as e:  # connection refused, reset, timed out
        return None, {"error": repr(e)}, time.time() - started, None


class Payments:
    """A bank-sim that answers slowly, PAYEES residents with cards at it, and an approved batch paying each of them."""

    def __init__(self, binary, data_dir, base, staff, agent):
        port = free_port()
        self.bank_url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([binary, "bank-sim", "--bank", "BOC", "--port", str(port), "--store", os.path.join(data_dir, "boc.sqlite"),
                                         "--latency-ms", str(BANK_LATENCY_MS)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while call(self.bank_url, "GET", "/statement", timeout=2)[0] != 200:
            if time.time() > deadline:
                raise RuntimeError("the bank-sim did not start")
            time.sleep(0.1)
        admin, self.department = staff["admin"], staff["department"]
        status, answer, _, _ = call(base, "POST", "/api/v1/banks", {"code": "BOC", "name": "中国银行", "agreementFrom": "2024-01-01",
                                                                    "agreementTo": "2034-12-31", "endpoint": self.bank_url}, token=admin)
        assert status == 201, f"bank: {status} {answer}"
        status, answer, _, _ = call(base, "POST", "/api/v1/outlets", {"name": "东城区社保卡服务中心 (HA)", "regionCode": "110101", "address": "东直门 1 号",
                                                                      "services": ["apply", "pickup"], "hours": "09:00-17:00"}, token=admin)
        assert status == 201, f"outlet: {status} {answer}"
        outlet = answer["outletId"]
        self.ids = [resident_id(i) for i in range(PAYEES)]

        def holder(id_number):
            status, answer, _, _ = call(base, "POST", "/api/v1/persons", {"idType": "resident", "idNumber": id_number, "name": "王秀梅",
                                                                          "phone": "13900002222"}, token=agent)
            assert status == 201, f"person: {status} {answer}"
            status, answer, _, _ = call(base, "POST", "/api/v1/card-applications", {"personId": answer["personId"], "channel": "counter",
                                                                                    "applyOutletId": outlet, "bankCode": "BOC"}, token=agent)
            assert status == 201, f"application: {status} {answer}"
            for step in ("approve", "produce", "ready", "collect"):
                status, answer2, _, _ = call(base, "POST", f"/api/v1/card-applications/{answer['applicationId']}/{step}", token=agent)
                assert status == 200, f"{step}: {status} {answer2}"

        errors = []

        def worker(k):
            try:
                for id_number in self.ids[k::4]:
                    holder(id_number)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        status, answer, _, _ = call(base, "POST", "/api/v1/programmes", {"name": "2026 年度耕地地力保护补贴", "kind": "subsidy", "department": "农业农村局",
                                                                        "legalBasis": "广东省社会保障卡一卡通条例第八条"}, token=self.department)
        assert status == 201, f"programme: {status} {answer}"
        lines = [{"idNumber": id_number, "name": "王秀梅", "amountFen": 10_000 + i} for i, id_number in enumerate(self.ids)]
        self.requested = sum(line["amountFen"] for line in lines)
        status, answer, _, _ = call(base, "POST", f"/api/v1/programmes/{answer['programmeId']}/batches", {"lines": lines}, token=self.department)
        assert status == 201 and answer.get("accepted") == PAYEES, f"batch: {status} {answer}"
        self.batch = answer["batchId"]
        status, answer, _, _ = call(base, "POST", f"/api/v1/batches/{self.batch}/approve", token=staff["department2"])
        assert status == 200, f"approve: {status} {answer}"

    def execute(self, base):
        status, answer, _, _ = call(base, "POST", f"/api/v1/batches/{self.batch}/execute", token=self.department)
        assert status == 202, f"execute: {status} {answer}"

    def counts(self, base):
        return call(base, "GET", f"/api/v1/batches/{self.batch}", token=self.department, timeout=5)[1].get("counts")

    def check(self, nodes, problems):
        """Waits (60 s at most) for the batch to complete on any process; then every payment is credited once."""
        deadline = time.time() + 60
        batch = {}
        while time.time() < deadline:
            for node in nodes:
                status, batch, _, _ = call(node.base, "GET", f"/api/v1/batches/{self.batch}", token=self.department, timeout=5)
                if status == 200:
                    break
            if batch.get("status") == "completed":
                break
            time.sleep(0.5)
        if batch.get("status") != "completed":
            problems.append(f"the payment batch did not complete within 60 s after the load: {batch}")
        elif batch.get("counts", {}).get("paid") != PAYEES or batch.get("totals", {}).get("paidFen") != self.requested:
            problems.append(f"the payment batch completed with {batch.get('counts')} {batch.get('totals')}")
        credits = call(self.bank_url, "GET", "/statement")[1].get("credits", [])
        ids = [c.get("paymentId") for c in credits]
        if len(ids) != len(set(ids)):
            problems.append(f"{len(ids) - len(set(ids))} payments credited twice")
        if len(set(ids)) != PAYEES or sum(c.get("amountFen", 0) for c in credits) != self.requested:
            problems.append(f"the bank credited {len(set(ids))} payments, ¥{sum(c.get('amountFen', 0) for c in credits) / 100:.2f}; "
                            f"the batch asked for {PAYEES}, ¥{self.requested / 100:.2f}")
        say(f"payments: batch {batch.get('status')} {batch.get('counts')}; the bank credited {len(set(ids))} payments once each")
        self.process.kill()


class Record:
    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = {}        # idempotency key -> useId (acceptances answered 2xx)
        self.steps = {}           # idempotency key -> action (lifecycle steps answered 2xx)
        self.failures = []        # 500s, slow answers, 503s without Retry-After
        self.unanswered = 0
        self.unavailable = 0      # 503 database_unavailable answers
        self.slowest = 0.0
        self.retries = 0
        self.served_after_kill = {}   # process index -> seconds after the kill of its first 2xx

    def add_failure(self, text):
        with self.lock:
            self.failures.append(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.environ.get("ONECARD_BIN") or os.path.join(ROOT, ".build", "debug", "onecard"))
    args = parser.parse_args()
    started = time.time()
    cluster = Cluster()
    nodes = []
    payments = None
    data_dir = tempfile.mkdtemp(prefix="onecard-ha-node-")
    try:
        url = cluster.up()
        say(f"cluster up in {time.time() - started:.1f} s")
        subprocess.run([args.bin, "migrate", "--database", url, "--data-dir", data_dir], check=True, capture_output=True, timeout=120)
        nodes.append(Node(args.bin, url, data_dir, demo=True))
        nodes += [Node(args.bin, url, data_dir, demo=False) for _ in range(2)]
        logins = nodes[0].logins()
        library = next(k for role, name, k in logins if role == "terminal" and "图书馆" in name)
        _, agent_name, agent_password = next(l for l in logins if l[0] == "agent")
        holder_id = next(name for role, name, pw in logins if role == "holder" and pw == "holder-demo-1")
        base = nodes[0].base
        holder = call(base, "POST", "/api/v1/auth/holder-token", {"idNumber": holder_id, "password": "holder-demo-1"})[1]["accessToken"]
        card = call(base, "GET", "/api/v1/me/card", token=holder)[1]["cardNumber"]
        agent = call(base, "POST", "/api/v1/auth/token", {"username": agent_name, "password": agent_password})[1]["accessToken"]
        staff = {n: call(base, "POST", "/api/v1/auth/token", {"username": n, "password": p})[1]["accessToken"]
                 for _, n, p in logins if n in ("admin", "department", "department2")}
        payments = Payments(args.bin, data_dir, base, staff, agent)
        say(f"a batch of {len(payments.ids)} payments approved, its bank answering after {BANK_LATENCY_MS} ms")
        bodies = subprocess.run([args.bin, "bench", "tokens", "--data-dir", data_dir, "--card", card, "--item", "JJJ-LIB-001", "--count", "20000"],
                                check=True, capture_output=True, text=True, timeout=120).stdout.split("\n")
        bodies = [b for b in bodies if b]
        say(f"three processes serving; {len(bodies)} fresh QR bodies; load {LOAD_SECONDS} s from {CLIENTS} clients, leader killed at {KILL_AT} s")

        record = Record()
        next_body = iter(bodies)
        body_lock = threading.Lock()
        load_start = time.time()
        kill_time = [None]
        stop_at = load_start + LOAD_SECONDS

        def send(index, method, path, body, token, key):
            """Sends until answered 2xx or a final 4xx, moving to the next process after 503 or no answer."""
            attempt = 0
            while True:
                node = nodes[(index + attempt) % len(nodes)]
                sent = time.time()
                status, payload, took, headers = call(node.base, method, path, body, token=token, key=key)
                with record.lock:
                    record.slowest = max(record.slowest, took)
                if status is None or took > SWITCH_BOUND:
                    since = f"{sent - kill_time[0]:+.1f} s from the kill" if kill_time[0] else "before the kill"
                    what = f"took {took:.1f} s (status {status})" if status is not None else f"not answered after {took:.1f} s: {payload.get('error')}"
                    record.add_failure(f"{method} {path} to process {(index + attempt) % len(nodes) + 1} sent {since} {what}")
                if status == 500:
                    record.add_failure(f"{method} {path}: 500 {payload}")
                if status is not None and 200 <= status < 300:
                    if kill_time[0] is not None:
                        with record.lock:
                            record.served_after_kill.setdefault((index + attempt) % len(nodes), time.time() - kill_time[0])
                    return status, payload
                if status == 503:
                    kind = (headers.get("Content-Type") or "") if headers is not None else ""
                    if headers is None or headers.get("Retry-After") is None or payload.get("code") != "database_unavailable" \
                            or not kind.startswith("application/problem+json"):
                        record.add_failure(f"{method} {path}: 503 that is not problem+json database_unavailable with Retry-After: "
                                           f"{kind} {payload} Retry-After {headers.get('Retry-After') if headers is not None else None}")
                    with record.lock:
                        record.unavailable += 1
                if status is not None and status not in (503, 500) and 400 <= status < 500:
                    return status, payload
                with record.lock:
                    record.retries += 1
                    if status is None:
                        record.unanswered += 1
                if time.time() > stop_at + 30:
                    return status, payload
                attempt += 1
                time.sleep(0.3)

        def acceptances(index):
            while time.time() < stop_at:
                with body_lock:
                    body = next(next_body, None)
                if body is None:
                    return
                key = f"ha-{uuid.uuid4()}"
                status, payload = send(index, "POST", "/api/v1/acceptances", json.loads(body), library, key)
                if status is not None and 200 <= status < 300:
                    with record.lock:
                        record.accepted[key] = payload.get("useId")

        def lifecycle(index):
            loss = True
            while time.time() < stop_at:
                key = f"ha-step-{uuid.uuid4()}"
                path = f"/api/v1/cards/{card}/" + ("report-loss" if loss else "unlock")
                status, payload = send(index, "POST", path, {"kind": "temporary"} if loss else {}, agent, key)
                if status is not None and 200 <= status < 300:
                    with record.lock:
                        record.steps[key] = "report-loss" if loss else "unlock"
                    loss = not loss
                elif status == 409:
                    loss = not loss   # the card is already in the other state (a step whose answer was lost took effect)
                time.sleep(0.2)

        threads = [threading.Thread(target=lifecycle if i == 0 else acceptances, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(KILL_AT - 1)
        payments.execute(nodes[1].base)
        time.sleep(1)
        at_kill = payments.counts(nodes[2].base)
        killed = cluster.script("kill-leader").stdout.strip()
        kill_time[0] = time.time()
        say(f"killed the leader {killed} at {kill_time[0] - load_start:.1f} s; the batch's payments just before: {at_kill}")
        if os.environ.get("ONECARD_HA_DEBUG"):
            time.sleep(8)
            pids = [str(n.process.pid) for n in nodes]
            ss = subprocess.run(["ss", "-tnpo"], capture_output=True, text=True).stdout
            for line in ss.split("\n"):
                if any(f"pid={p}," in line for p in pids) and "CLOSE" in line or ("haproxy" in line and "CLOSE" in line):
                    say("ss: " + line)
            say("cluster: " + cluster.script("status", check=False).stdout.strip()[:600])
            try:
                say("waiting on the leader: " + cluster.psql("SELECT wait_event || ':' || count(*) FROM pg_stat_activity WHERE state <> 'idle' GROUP BY wait_event").replace("\n", " "))
                say("sync: " + cluster.psql("SHOW synchronous_standby_names").strip())
                say("stuck: " + cluster.psql("SELECT state || ' | ' || left(query, 160) || ' | ' || (now() - xact_start)::text FROM pg_stat_activity "
                                             "WHERE wait_event = 'ClientRead' AND state <> 'idle'").replace("\n", " || "))
            except Exception as e:
                say(f"psql: {e}")
            say("ss states of the processes: " + str({st: sum(1 for l in ss.split("\n") if st in l and any(f"pid={p}," in l for p in pids))
                                                      for st in ("ESTAB", "CLOSE-WAIT", "FIN-WAIT", "SYN-SENT")}))
        for t in threads:
            t.join(timeout=LOAD_SECONDS + 60)

        # Every process serves again, within 15 s of the kill, without a restart.
        for i, node in enumerate(nodes):
            if i not in record.served_after_kill:
                deadline = kill_time[0] + SERVE_AGAIN_BOUND
                while time.time() < deadline and i not in record.served_after_kill:
                    if call(node.base, "GET", "/api/v1/me/card", token=holder, timeout=3)[0] == 200:
                        record.served_after_kill[i] = time.time() - kill_time[0]
                    time.sleep(0.3)
        say(f"answered 2xx: {len(record.accepted)} acceptances, {len(record.steps)} lifecycle steps; retries {record.retries} "
            f"(503 {record.unavailable}, no answer {record.unanswered}); slowest answer {record.slowest:.1f} s; served again after the kill: "
            + ", ".join(f"process {i + 1} {s:.1f} s" for i, s in sorted(record.served_after_kill.items())))
        problems = list(record.failures)
        for i in range(len(nodes)):
            s = record.served_after_kill.get(i)
            if s is None or s > SERVE_AGAIN_BOUND:
                problems.append(f"process {i + 1} did not serve again within {SERVE_AGAIN_BOUND:.0f} s of the kill ({s})")
        if len(record.accepted) < 100:
            problems.append(f"only {len(record.accepted)} acceptances answered: the load did not run")

        # Every 2xx is in the database exactly once.
        terminal = library.split("_")[1] if library.startswith("oct_") else None
        rows = cluster.psql("SELECT idempotency_key || ' ' || id FROM uses WHERE idempotency_key LIKE 'ha-%'").split("\n")
        stored = {}
        for line in filter(None, rows):
            k, use = line.split(" ", 1)
            stored.setdefault(k, []).append(use)
        for key, use in record.accepted.items():
            if len(stored.get(key, [])) != 1:
                problems.append(f"acceptance {key}: {len(stored.get(key, []))} rows")
            elif use and stored[key][0] != use:
                problems.append(f"acceptance {key}: answered use {use}, stored {stored[key][0]}")
        dupes = [k for k, v in stored.items() if len(v) > 1]
        if dupes:
            problems.append(f"{len(dupes)} keys stored twice")
        steps = set(filter(None, cluster.psql("SELECT idempotency_key FROM lifecycle_requests WHERE idempotency_key LIKE 'ha-step-%'").split("\n")))
        for key in record.steps:
            if key not in steps:
                problems.append(f"lifecycle step {key} answered 2xx but not stored")
        say(f"stored: {sum(len(v) for v in stored.values())} uses under the test's keys, {len(steps)} lifecycle steps")

        # The batch at the bank at the kill completes, every payment credited exactly once.
        payments.check(nodes, problems)

        # The old leader rejoins as a replica.
        cluster.script("start", killed)
        deadline = time.time() + 60
        while time.time() < deadline and not cluster.role_answers(killed, "/replica"):
            time.sleep(0.5)
        if not cluster.role_answers(killed, "/replica"):
            problems.append(f"the old leader {killed} did not rejoin as a replica within 60 s")
        else:
            say(f"{killed} rejoined as a replica")

        # Each process stops on SIGTERM within its grace period.
        term_at = time.time()
        for i, node in enumerate(nodes):
            node.process.send_signal(signal.SIGTERM)
        stopped = []
        for i, node in enumerate(nodes):
            try:
                node.process.wait(timeout=max(0.1, term_at + STOP_BOUND - time.time()))
                stopped.append(f"process {i + 1} {time.time() - term_at:.1f} s (exit {node.process.returncode})")
            except subprocess.TimeoutExpired:
                problems.append(f"process {i + 1} did not stop within {STOP_BOUND:.0f} s of SIGTERM")
                node.process.kill()
        say("stopped on SIGTERM: " + ", ".join(stopped))
        took = time.time() - started
        if took > TEST_BOUND:
            problems.append(f"the test took {took:.0f} s, more than {TEST_BOUND:.0f} s")
        if problems:
            say("FAILED:")
            for p in problems[:40]:
                say("  " + p)
            return 1
        say(f"passed in {time.time() - started:.0f} s")
        return 0
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.process.kill()
        if payments is not None and payments.process.poll() is None:
            payments.process.kill()
        cluster.down()
        if os.environ.get("ONECARD_HA_KEEP"):
            say(f"logs kept in {data_dir}")
        else:
            subprocess.run(["rm", "-rf", data_dir])


if __name__ == "__main__":
    sys.exit(main())
