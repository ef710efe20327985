#!/usr/bin/env python3
"""Cross-province medical settlement under load (issue 14: "p99 under 50 ms for one routed to another node on loopback").

Starts a hub, a Beijing node (110000) and a Hebei node (130000) as real `onecard` processes on 127.0.0.1, each with its
own data folder and SQLite database, federated as README.md's "Federation" section shows (`keys show`, `hub members
add`, `serve --hub URL --hub-key @file --person-key @file`; `--demo` for staff logins, outlets, banks, the Hebei
hospital and the published medical catalogue). Then, as FederationMedicalTests does but through the HTTP API only:

  * at Beijing, one new resident per client with an active card, insured there as an employee (a large personal
    account) and filed (long_term) for treatment in Hebei; a holder login each, to read their settlements afterwards;
  * at Hebei, as many residents insured as employees of Shijiazhuang (130100), the local comparison;
  * a new terminal at the Hebei demo's hospital (河北省第一人民医院, 130104).

Each client (a thread with a keep-alive http.client connection) settles its own person's stays at the Hebei hospital
terminal: POST /api/v1/medical/settlements, a fresh QR token (`onecard bench tokens` with the issuing node's data
folder) and its own Idempotency-Key each, and a modest bill (甲 700.00, 乙 50.00, 丙 10.00: past the later-stay
deductible, so the fund and the account both pay, far from the annual cap). A Beijing card's stay is routed
Hebei → hub → Beijing (Beijing's policy, account and counters) and back.

Phases, in one run: warm-up (both kinds); routed settlements for --seconds; as many local settlements (a Hebei-insured
person at the same hospital); as many GET /health at Hebei. Each request's latency is recorded; every answer must be
2xx. Afterwards every Beijing person's settlements at Beijing (GET /api/v1/me/medical) must be exactly the ids of the
2xx routed answers for them (one record each, none doubled or missing), and the month's clearing
(GET /api/v1/medical/clearing) on both nodes must count the same Beijing → Hebei stays as the 2xx answers, and each
Hebei person's settlements at Hebei must be exactly their 2xx local answers; otherwise, or when any answer was not 2xx,
the exit status is 1. The routed p99 is reported against the 50 ms goal as a ratio (it does not change the status).

  python3 Benchmarks/medical_routed.py [--bin .build-release/release/onecard] [--seconds 20] [--clients 4]

Everything it starts listens on 127.0.0.1 and is stopped by process id at the end (also on an error or Ctrl-C); the
whole run is bounded by --deadline seconds (default 300).
"""
import argparse
import base64
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from processes import Process, call, free_port  # noqa: E402
from residents import Node, cst_today, expect, new_card  # noqa: E402

BEIJING, HEBEI = "110000", "130000"
GOAL_MS = 50.0
# A modest bill by the Hebei catalogue the demo publishes (甲, 乙 with 10 % pay-first, 丙): 760.00 in all, so a later
# stay passes Beijing's (650.00) and Shijiazhuang's (600.00) deductibles and the fund pays 80.75 / 123.25 a stay.
BILL = [{"code": "MED-A-001", "amountFen": 70000, "quantity": 1}, {"code": "MED-B-001", "amountFen": 5000, "quantity": 1},
        {"code": "MED-C-001", "amountFen": 1000, "quantity": 1}]
ACCOUNT_FEN = 10_000_000_000  # the largest account the API takes: never runs out here
TOKEN_BATCH = 300             # QR tokens made per `bench tokens` call
TOKEN_MAX_AGE = 30.0          # seconds; a token lives 60 s (+30 s skew), so a batch is remade well before


class Deadline(Exception):
    pass


class Tokens:
    """Fresh QR credentials for one card, made with its issuing node's keys (`onecard bench tokens`)."""

    def __init__(self, binary, data_dir, card):
        self.binary, self.dir, self.card = binary, data_dir, card
        self.batch, self.made = [], 0.0

    def stock(self, count=TOKEN_BATCH):
        """Replaces the batch with `count` new tokens (before a phase, so that its clients rarely stop to make more)."""
        out = subprocess.run([self.binary, "bench", "tokens", "--data-dir", self.dir, "--card", self.card, "--item", "medical_settlement",
                              "--count", str(count)], capture_output=True, text=True, timeout=60, check=True).stdout
        self.batch = [json.loads(line)["credential"] for line in out.splitlines() if line.strip()]
        self.batch.reverse()
        self.made = time.monotonic()

    def take(self):
        if not self.batch or time.monotonic() - self.made > TOKEN_MAX_AGE:
            self.stock()
        return self.batch.pop()


class Client:
    """One thread's keep-alive connection to the Hebei node."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                took = (time.perf_counter() - started) * 1000
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close(); self.conn = None
                return r.status, data, took
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed: reconnect and send once more. A settlement is sent again
                # with the same Idempotency-Key, so the node can only answer its first record; the time is the retry's.
                self.conn.close(); self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


class Stats:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = 0
        self.first_error = None
        self.exhausted = 0  # settlements where the fund or the account paid nothing (cap or account run out)
        self.elapsed = 0.0
        self.sample = None  # the first 2xx answer

    def add(self, took, status, body, settled=None):
        with self.lock:
            if 200 <= status < 300:
                self.latencies.append(took)
                if self.sample is None:
                    self.sample = settled
                if settled is not None and (settled.get("hifpPay", 0) <= 0 or settled.get("acctPay", 0) <= 0):
                    self.exhausted += 1
            else:
                self.errors += 1
                if self.first_error is None:
                    self.first_error = "%s %s" % (status, body[:2000].decode(errors="replace"))

    def count(self):
        with self.lock:
            return len(self.latencies) + self.errors

    def summary(self):
        t = sorted(self.latencies)
        n = len(t)
        p = lambda q: t[min(n - 1, max(0, int(round(q * n + 0.5)) - 1))] if n else float("nan")
        return {"ok": n, "non_2xx": self.errors, "seconds": round(self.elapsed, 2), "per_s": round(n / self.elapsed, 1) if self.elapsed else 0,
                "p50_ms": round(p(0.50), 2), "p95_ms": round(p(0.95), 2), "p99_ms": round(p(0.99), 2), "max_ms": round(t[-1], 2) if n else float("nan"),
                "p99_over_goal": round(p(0.99) / GOAL_MS, 3) if n else float("nan")}


def settle(client, terminal_key, person, tokens, stats, ids, tag):
    credential = tokens.take()  # made outside the timed part
    key = "%s-%s" % (tag, uuid.uuid4().hex)
    body = json.dumps({"credential": credential, "care": "inpatient", "hospitalLevel": 3, "emergency": False, "items": BILL}).encode()
    status, data, took = client.request("POST", "/api/v1/medical/settlements", body, {
        "Authorization": "Bearer " + terminal_key, "Content-Type": "application/json", "Idempotency-Key": key})
    settled = None
    if 200 <= status < 300:
        settled = json.loads(data)
        with stats.lock:
            ids.setdefault(person["personId"], []).append(settled["settlementId"])
    stats.add(took, status, data, settled)
    return status, data


class Budget:
    """Exactly `n` requests shared by the clients: each takes a ticket before its request."""

    def __init__(self, n):
        self.left = n
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def run_phase(clients, work, stop):
    """Runs work(i, client) on one thread per client until stop(i) says so; returns the wall time."""
    failures = []

    def loop(i):
        c = Client(clients[i])
        try:
            while not stop(i):
                work(i, c)
        except Exception as e:  # a dead connection or a broken answer stops the phase, reported below
            failures.append("client %d: %r" % (i, e))

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(len(clients))]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError("; ".join(failures))
    return time.monotonic() - started


def wait_federated(nodes, timeout=90):
    """Until each node reaches the hub, has delivered its outbox, sees both members and holds both regions' QR keys."""
    deadline = time.time() + timeout
    last = {}
    while time.time() < deadline:
        ok = True
        for n in nodes:
            _, st = call(n.url, "GET", "/api/v1/federation/status", n.admin)
            _, jwks = call(n.url, "GET", "/api/v1/trust/jwks")
            issuers = {k.get("iss") for k in jwks.get("keys", [])}
            good = (st.get("hub") or {}).get("reachable") is True and (st.get("outbox") or {}).get("pending") == 0 \
                and len(st.get("members") or []) >= 2 and {BEIJING, HEBEI} <= issuers
            last[n.region] = st
            ok = ok and good
        if ok:
            return
        time.sleep(0.3)
    raise RuntimeError("the federation did not settle in %d s: %s" % (timeout, json.dumps(last, ensure_ascii=False)))


def clearing_count(node, months):
    """Beijing → Hebei stays in the months' clearing at `node`."""
    total = 0
    for m in months:
        c = expect(*call(node.url, "GET", "/api/v1/medical/clearing?month=" + m, node.admin), (200,), "clearing at " + node.region)
        for pair in c.get("pairs", []):
            if pair["insuredRegion"][:2] == BEIJING[:2] and pair["treatmentRegion"][:2] == HEBEI[:2]:
                total += pair["settlements"]
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_bin = os.path.relpath(next((b for b in (os.path.join(root, ".build-release/release/onecard"), os.path.join(root, ".build/debug/onecard"))
                                        if os.path.exists(b)), os.path.join(root, ".build/debug/onecard")))
    ap.add_argument("--bin", default=default_bin, help="the onecard binary (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured routed settlements for this long (default 20)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients, one insured person each (default 4)")
    ap.add_argument("--warmup", type=int, default=10, help="warm-up settlements per client and kind (default 10)")
    ap.add_argument("--deadline", type=float, default=300.0, help="hard bound on the whole run in seconds (default 300)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        sys.exit("no onecard binary at %s" % binary)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    def on_alarm(_signum, _frame):
        raise Deadline("the run took longer than %d s" % a.deadline)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, a.deadline)
    stopping = threading.Event()  # also tells client threads to finish when the main thread is interrupted

    work = tempfile.mkdtemp(prefix="onecard-medrouted-")
    procs = []
    try:
        hub = Process([binary, "hub", "--port", "0", "--data-dir", f"{work}/hub"]); procs.append(hub)
        hub_url = hub.wait_for(r"listening on (http://\S+)").group(1)
        with open(f"{work}/hub.json", "w") as f:
            f.write(subprocess.check_output([binary, "keys", "show", "--data-dir", f"{work}/hub"], text=True, timeout=60))
        with open(f"{work}/person.key", "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode())
        nodes = {}
        for region in [BEIJING, HEBEI]:
            d = f"{work}/n{region}"
            key = subprocess.check_output([binary, "keys", "show", "--data-dir", d], text=True, timeout=60)
            with open(f"{d}.json", "w") as f:
                f.write(key)
            # admitted before it starts: its demo applies for cards, which the hub checks
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            subprocess.check_call([binary, "hub", "members", "add", "--data-dir", f"{work}/hub", "--region", region, "--url", url,
                                   "--key", f"@{d}.json"], stdout=subprocess.DEVNULL, timeout=60)
            node = Process([binary, "serve", "--region", region, "--port", str(port), "--data-dir", d, "--demo", "--hub", hub_url,
                            "--hub-key", f"@{work}/hub.json", "--person-key", f"@{work}/person.key",
                            "--rate-limit-terminal", "0", "--rate-limit-public", "0"]); procs.append(node)
            node.wait_for(r"listening on (http://\S+)")
            nodes[region] = Node(region, url, node, d)
        bj, hb = nodes[BEIJING], nodes[HEBEI]
        for n in (bj, hb):
            n.admin, n.agent = n.login("admin"), n.login("agent")
        wait_federated([bj, hb])

        # Set-up through the API: Beijing employees filed for Hebei, Shijiazhuang employees, a hospital terminal at Hebei.
        rng = random.Random()
        sequences = rng.sample(range(100, 900), 2 * a.clients)
        medsec = {n.region: expect(*call(n.url, "POST", "/api/v1/auth/token", body={"username": "medsec", "password": "medsec-demo-2026"}),
                                   (200,), "medsec login")["accessToken"] for n in (bj, hb)}
        routed_people, local_people = [], []
        for i in range(a.clients):
            p = new_card(bj, "110105", sequences[i], rng)
            expect(*call(bj.url, "PUT", "/api/v1/medical/insureds/" + p["personId"], medsec[BEIJING],
                         {"scheme": "employee", "insuredRegion": BEIJING, "retired": False, "accountBalanceFen": ACCOUNT_FEN}), (200,), "insure at Beijing")
            expect(*call(bj.url, "POST", "/api/v1/medical/filings", bj.agent,
                         {"personId": p["personId"], "kind": "long_term", "treatmentRegion": HEBEI, "from": cst_today()}), (201,), "file for Hebei")
            routed_people.append(p)
            q = new_card(hb, "130102", sequences[a.clients + i], rng)
            expect(*call(hb.url, "PUT", "/api/v1/medical/insureds/" + q["personId"], medsec[HEBEI],
                         {"scheme": "employee", "insuredRegion": "130100", "retired": False, "accountBalanceFen": ACCOUNT_FEN}), (200,), "insure at Shijiazhuang")
            local_people.append(q)
        _, venues = call(hb.url, "GET", "/api/v1/venues")
        hospital = next(v for v in venues["venues"] if v["type"] == "hospital")
        terminal_key = expect(*call(hb.url, "POST", "/api/v1/venues/%s/terminals" % hospital["venueId"], hb.admin), (201,), "terminal")["apiKey"]
        routed_tokens = [Tokens(binary, bj.dir, p["card"]) for p in routed_people]
        local_tokens = [Tokens(binary, hb.dir, q["card"]) for q in local_people]
        month_first = expect(*call(bj.url, "GET", "/api/v1/medical/clearing", bj.admin), (200,), "clearing")["month"]
        hb_port = int(hb.url.rsplit(":", 1)[1])
        ports = [hb_port] * a.clients
        routed_ids = {}  # personId -> settlement ids of the 2xx routed answers
        local_ids = {}

        # Warm-up: each client's first stays (the first-stay deductible), connections, caches.
        warm_routed, warm_local = Stats("warm-up routed"), Stats("warm-up local")
        done = [0] * a.clients

        def warm(i, c):
            settle(c, terminal_key, routed_people[i], routed_tokens[i], warm_routed, routed_ids, "warm-routed")
            settle(c, terminal_key, local_people[i], local_tokens[i], warm_local, local_ids, "warm-local")
            c.request("GET", "/health")
            done[i] += 1

        run_phase(ports, warm, lambda i: stopping.is_set() or done[i] >= a.warmup)
        if warm_routed.errors or warm_local.errors:
            raise RuntimeError("warm-up: routed %s, local %s" % (warm_routed.first_error, warm_local.first_error))

        # Tokens made before each phase (a token lives 60 s; clients make more only if a batch runs out or ages),
        # enough for twice the warm-up's pace per client.
        pace = 1000.0 / (sum(warm_routed.latencies) / len(warm_routed.latencies))
        for t in routed_tokens:
            t.stock(int(min(20000, max(TOKEN_BATCH, 2 * pace * min(a.seconds, TOKEN_MAX_AGE)))))

        # 1. Routed settlements for --seconds.
        routed = Stats("routed")
        end = time.monotonic() + a.seconds
        routed.elapsed = run_phase(ports, lambda i, c: settle(c, terminal_key, routed_people[i], routed_tokens[i], routed, routed_ids, "routed"),
                                   lambda i: stopping.is_set() or time.monotonic() >= end)
        target = routed.count()

        # 2. As many local settlements (a Hebei-insured person at the same hospital), bounded in time too.
        for t in local_tokens:
            t.stock(int(min(20000, max(TOKEN_BATCH, 1.5 * target / a.clients + 10))))
        local = Stats("local")
        local_end = time.monotonic() + 3 * a.seconds
        local_budget = Budget(target)
        local.elapsed = run_phase(ports, lambda i, c: settle(c, terminal_key, local_people[i], local_tokens[i], local, local_ids, "local"),
                                  lambda i: stopping.is_set() or time.monotonic() >= local_end or not local_budget.take())

        # 3. As many GET /health.
        health = Stats("health")
        health_end = time.monotonic() + 3 * a.seconds
        health_budget = Budget(target)

        def probe(i, c):
            status, data, took = c.request("GET", "/health")
            health.add(took, status, data)

        health.elapsed = run_phase(ports, probe, lambda i: stopping.is_set() or time.monotonic() >= health_end or not health_budget.take())

        # 4. Beijing holds exactly one settlement per 2xx routed answer: per person, and in both nodes' clearing.
        problems = []
        held_total = 0
        for p in routed_people:
            mine = expect(*call(bj.url, "GET", "/api/v1/me/medical", p["holder"]), (200,), "Beijing's record of " + p["personId"])
            held = [s["settlementId"] for s in mine.get("settlements", [])]
            held_total += len(held)
            answered = routed_ids.get(p["personId"], [])
            if sorted(held) != sorted(answered) or len(set(held)) != len(held):
                only_held = sorted(set(held) - set(answered))
                only_answered = sorted(set(answered) - set(held))
                problems.append("person %s: Beijing holds %d settlements (%d distinct), the 2xx answers were %d; only at Beijing %s, only answered %s"
                                % (p["personId"], len(held), len(set(held)), len(answered), only_held[:5], only_answered[:5]))
        ok_routed = sum(len(v) for v in routed_ids.values())
        month_last = expect(*call(bj.url, "GET", "/api/v1/medical/clearing", bj.admin), (200,), "clearing")["month"]
        months = sorted({month_first, month_last})
        cleared = {n.region: clearing_count(n, months) for n in (bj, hb)}
        for region, count in cleared.items():
            if count != ok_routed:
                problems.append("clearing at %s: %d Beijing → Hebei stays, %d 2xx routed answers" % (region, count, ok_routed))
        # The local stays likewise, each once at Hebei (they are in no clearing pair: insured and treated in one province).
        local_count = sum(len(v) for v in local_ids.values())
        for q in local_people:
            mine = expect(*call(hb.url, "GET", "/api/v1/me/medical", q["holder"]), (200,), "Hebei's record of " + q["personId"])
            held = [s["settlementId"] for s in mine.get("settlements", [])]
            if sorted(held) != sorted(local_ids.get(q["personId"], [])):
                problems.append("person %s at Hebei: %d settlements held, %d 2xx local answers" % (q["personId"], len(held), len(local_ids.get(q["personId"], []))))

        rs, ls, hs = routed.summary(), local.summary(), health.summary()
        print("onecard %s; hub + Beijing (110000) + Hebei (130000) on loopback, SQLite; %d clients, keep-alive; at %s (%s);"
              " bill 甲 700 + 乙 50 + 丙 10 yuan, inpatient, level 3" % (a.bin, a.clients, hospital["name"], hospital["regionCode"]))
        print("warm-up: %d routed + %d local settlements (first stays)" % (len(warm_routed.latencies), len(warm_local.latencies)))
        fmt = "%-34s %6d ok %4d non-2xx in %6.2f s = %7.1f/s | p50 %7.2f p95 %7.2f p99 %7.2f max %8.2f ms | p99/50 ms %6.3f"
        for label, s in [("routed Hebei → hub → Beijing", rs), ("local (Shijiazhuang-insured)", ls), ("GET /health (Hebei)", hs)]:
            print(fmt % (label, s["ok"], s["non_2xx"], s["seconds"], s["per_s"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"], s["p99_over_goal"]))
        if ls["p99_ms"] == ls["p99_ms"] and ls["p99_ms"] > 0:
            print("routed / local: throughput %.3f, p50 %.2fx, p99 %.2fx" % (rs["per_s"] / ls["per_s"] if ls["per_s"] else float("nan"),
                                                                            rs["p50_ms"] / ls["p50_ms"], rs["p99_ms"] / ls["p99_ms"]))
        print("check: Beijing holds %s settlements for %d 2xx routed answers (warm-up included); clearing Beijing → Hebei %s; %d local stays"
              % (held_total, ok_routed, json.dumps(cleared), local_count))
        for label, s in [("a routed answer", routed.sample), ("a local answer", local.sample)]:
            if s:
                print("%s: %s" % (label, json.dumps({k: s.get(k) for k in ("filing", "insuredRegion", "treatmentRegion", "medfeeSumamt", "actPayDedc",
                                                                          "hifpPay", "acctPay", "psnCashPay")}, ensure_ascii=False)))
        if routed.exhausted or local.exhausted:
            print("note: the fund or the account paid nothing in %d routed and %d local settlements (cap or account reached)"
                  % (routed.exhausted, local.exhausted))
        for s in (routed, local, health):
            if s.errors:
                problems.append("%s: %d answers not 2xx; the first: %s" % (s.name, s.errors, s.first_error))
        if local.count() < target:
            problems.append("local: only %d of %d settlements within %.0f s" % (local.count(), target, 3 * a.seconds))
        print(json.dumps({"routed": rs, "local": ls, "health": hs, "goal_ms": GOAL_MS, "beijing_checked": not any("person" in x or "clearing" in x for x in problems)}))
        for x in problems:
            print("FAIL: " + x, file=sys.stderr)
        return 1 if problems else 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        stopping.set()
        for pr in reversed(procs):
            try:
                pr.stop()
            except Exception as e:
                print("stopping %s (pid %d): %r" % (pr.args[1], pr.p.pid, e), file=sys.stderr)
        if a.keep:
            for i, pr in enumerate(procs):
                with open(f"{work}/log-{i}-{pr.args[1]}.txt", "w") as f:
                    f.write("".join(pr.text))
            print("kept " + work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Deadline as e:
        print("FAIL: %s (everything started was stopped)" % e, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted (everything started was stopped)", file=sys.stderr)
        sys.exit(130)
