"""Statistics at a province's scale: a million uses (and 100,000 complaints) in the node's own SQLite database,
then `GET /api/v1/stats` for a month and for a year, timed through HTTP (issue 16: "show it on a database of a
million uses").

Usage: python3 Benchmarks/stats_scale.py --bin .build/debug/onecard [--uses 1000000]
Starts `onecard serve --demo` on a free port with a fresh data directory, writes the rows straight into its
database file (WAL, beside the running server), and prints the timings. Stops the server it started.
"""
import argparse
import json
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--uses", type=int, default=1_000_000)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="onecard-stats-")
    p = subprocess.Popen([args.bin, "serve", "--demo", "--host", "127.0.0.1", "--port", "0", "--data-dir", data],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, lines = None, []
        while url is None:
            line = p.stdout.readline()
            if not line:
                raise SystemExit("server did not start:\n" + "".join(lines))
            lines.append(line)
            m = re.search(r"listening on (http://[0-9.]+:[0-9]+)", line)
            url = m.group(1) if m else None
        threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()

        db = sqlite3.connect(data + "/onecard.sqlite", timeout=30)
        venues = [r[0] for r in db.execute("SELECT id FROM venues")]
        items = ["JJJ-LIB-001", "JJJ-MUS-001", "BJ-HOSP-001", "JJJ-BUS-001"]
        start_ms = 1_767_196_800_000  # 2026-01-01 CST
        year_ms = 365 * 86_400_000
        rng = random.Random(16)
        t0 = time.time()
        batch = []
        for i in range(args.uses):
            at = start_ms + rng.randrange(year_ms)
            batch.append((f"bench-{i}", "bench-terminal", f"k{i}", rng.choice(venues), rng.choice(items), "qr", "accepted", None, None,
                          None, rng.random() < 0.2, 0, None, at, "{}"))
            if len(batch) == 50_000:
                db.executemany("INSERT INTO uses (id, terminal_id, idempotency_key, venue_id, item_code, kind, decision, reason, card_number, "
                               "person_id, cross_region, charged_fen, disclosed, at, response) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
                db.commit()
                batch = []
        kinds = ["consultation", "suggestion", "complaint"]
        complaints = []
        for i in range(args.uses // 10):
            at = start_ms + rng.randrange(year_ms)
            due = at + 10 * 86_400_000
            answered = at + rng.randrange(15 * 86_400_000) if rng.random() < 0.9 else None
            complaints.append((f"bench-c{i}", rng.choice(kinds), "other", "12345", "bench", None, None, None, None, "bench", at, due, 0,
                               "closed" if answered else "open", None, 0, "ok" if answered else None, answered,
                               (1 if rng.random() < 0.8 else 0) if answered else None, answered, at))
        db.executemany("INSERT INTO complaints (id, kind, topic, channel, summary, region_code, venue_id, use_id, person_id, lodged_by, "
                       "received_at, due_at, due_provisional, status, assignee, reopenings, answer, answered_at, satisfied, closed_at, created_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", complaints)
        db.commit()
        print(f"inserted {args.uses} uses and {len(complaints)} complaints in {time.time() - t0:.1f} s")

        def call(method, path, body=None, token=None):
            req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None, method=method)
            if body:
                req.add_header("Content-Type", "application/json")
            if token:
                req.add_header("Authorization", "Bearer " + token)
            with urllib.request.urlopen(req) as r:
                return r.read()

        token = json.loads(call("POST", "/api/v1/auth/token", {"username": "auditor", "password": "auditor-demo-2026"}))["accessToken"]
        for label, q in [("one month, by day", "from=2026-03-01&to=2026-03-31&by=day"),
                         ("one year, by month", "from=2026-01-01&to=2026-12-31&by=month")]:
            times = []
            for _ in range(5):
                t = time.time()
                body = json.loads(call("GET", "/api/v1/stats?" + q, token=token))
                times.append((time.time() - t) * 1000)
            times.sort()
            print(f"GET /api/v1/stats {label}: uses {body['uses']['total']}, complaints {body['complaints']['total']}; "
                  f"median {times[2]:.0f} ms, best {times[0]:.0f} ms, worst {times[-1]:.0f} ms")
        t = time.time()
        pdf = call("GET", "/api/v1/stats/report.pdf?from=2026-01-01&to=2026-12-31", token=token)
        print(f"GET /api/v1/stats/report.pdf one year: {len(pdf)} bytes in {(time.time() - t) * 1000:.0f} ms")
    finally:
        p.terminate()
        p.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
