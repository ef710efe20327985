"""What the Python benchmarks share: real `onecard` processes on loopback, their output, and JSON calls to them.

Imported by Benchmarks/medical_routed.py, Benchmarks/federation_propagation.py and lib/residents.py (each puts this folder on
sys.path, or is in it).
"""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request


def call(base, method, path, token=None, body=None, headers=None, timeout=30):
    """One JSON request: (status, parsed body). A body that is not JSON comes back as {"raw": text}."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"{}")
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


class Process:
    """A started process whose output (stdout and stderr) is read as it comes, to wait for a line."""

    def __init__(self, args, stdin=None):
        self.args = args
        self.p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.text = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.text.append(line)
            self.lines.put(line)

    def wait_for(self, pattern, timeout=120):
        """The first line from now on matching `pattern` (its match); an error with the output so far otherwise."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.p.poll() is not None:
                    break
                continue
            m = re.search(pattern, line)
            if m:
                return m
        raise RuntimeError("no %r in:\n%s" % (pattern, "".join(self.text)))

    def stop(self):
        """SIGTERM by process id, SIGKILL after 20 s."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
