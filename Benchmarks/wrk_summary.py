#!/usr/bin/env python3
"""wrk's summary of one run, as the benchmark scripts read it: requests/s, p50 and p99 latency in ms, how many answers
were not 2xx/3xx, and how many requests were sent. Usage: python3 Benchmarks/wrk_summary.py wrk-output.txt"""
import re
import sys

text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))


def ms(percentile):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % percentile, text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
total = re.search(r"(\d+) requests in", text)
print(f"{rps:.0f} {ms(50):.2f} {ms(99):.2f} {errors.group(1) if errors else 0} {total.group(1) if total else 0}")
