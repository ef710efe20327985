#!/usr/bin/env python3
"""Latency of the hot reads at a province's scale, from a few concurrent clients (issue 18), for Benchmarks/scale.sh.

Signs the demo agent in on the staff pages and a sample of populated residents up (POST /api/v1/holders, their name
as `onecard bench residents` prints it) and in on the resident pages, then for SECONDS seconds CLIENTS threads each
send, in turn and at random:
  lookup  POST /agent/find by=id: the agent desk finds a card by an ID number (persons by blind index, the live card)
  queue   GET  /agent: the agency's application queue
  me      GET  /me: the holder's page (person, card)
  uses    GET  /me/uses: the holder's uses
and it prints one JSON line: per kind the count, p50, p99 and max in ms, and how many answers were not 200.
Latency is measured at the client (Python's own time included: an upper bound).

Usage: scale_probe.py BASE_URL RESIDENTS_JSONL [--clients 4] [--seconds 10] [--holders 20]
"""
import argparse
import http.cookiejar
import json
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


class Browser:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.csrf = None

    def request(self, method, path, form=None, json_body=None):
        data, headers = None, {}
        if form is not None:
            form = dict(form)
            if self.csrf:
                form["_csrf"] = self.csrf
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as r:
                status, body = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode("utf-8", "replace")
        m = re.search(r'name="_csrf" value="([^"]+)"', body)
        if m:
            self.csrf = m.group(1)
        return status, body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("residents")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--holders", type=int, default=20)
    ap.add_argument("--agent", default="agent")
    ap.add_argument("--agent-password", default="agent-demo-2026")
    args = ap.parse_args()
    residents = [json.loads(line) for line in open(args.residents) if line.strip()]

    def agent_browser():
        b = Browser(args.base)
        b.request("GET", "/staff/signin")
        status, _ = b.request("POST", "/staff/signin", {"username": args.agent, "password": args.agent_password})
        assert status in (200, 303), f"agent sign-in: {status}"
        b.request("GET", "/agent")
        return b

    holders = []
    for r in residents[: args.holders]:
        b = Browser(args.base)
        status, body = b.request("POST", "/api/v1/holders", json_body={"idType": "resident", "idNumber": r["idNumber"], "name": r["name"],
                                                                      "phone": r["phone"], "password": "holder-scale-2026"})
        assert status in (201, 409), f"holder sign-up {r['idNumber'][:6]}…: {status} {body[:200]}"
        b.request("GET", "/signin")
        status, _ = b.request("POST", "/signin", {"idNumber": r["idNumber"], "password": "holder-scale-2026"})
        assert status in (200, 303), f"holder sign-in: {status}"
        holders.append(b)

    results = {k: [] for k in ("lookup", "queue", "me", "uses")}
    failures = {k: 0 for k in results}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def client(seed):
        rng = random.Random(seed)
        agent = agent_browser()
        while time.monotonic() < deadline:
            kind = rng.choice(list(results))
            t0 = time.perf_counter()
            if kind == "lookup":
                r = rng.choice(residents)
                status, body = agent.request("POST", "/agent/find", {"by": "id", "value": r["idNumber"]})
                ok = status == 200 and r["cardNumber"] in body
            elif kind == "queue":
                status, _ = agent.request("GET", "/agent")
                ok = status == 200
            else:
                h = rng.choice(holders)
                status, _ = h.request("GET", "/me" if kind == "me" else "/me/uses")
                ok = status == 200
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                results[kind].append(ms)
                if not ok:
                    failures[kind] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({k: {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99), "max": round(max(v), 2) if v else None,
                          "failed": failures[k]} for k, v in results.items()}))


if __name__ == "__main__":
    main()
