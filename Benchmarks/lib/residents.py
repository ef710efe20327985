"""Residents with active cards made through a node's API, as an agent at a counter would (the medical benchmarks).

Imported by Benchmarks/medical_routed.py and Benchmarks/medical_settlement.sh (each puts this folder on sys.path).
"""
import json
import time
import uuid

from processes import call


def expect(status, body, want, what):
    if status not in want:
        raise RuntimeError("%s: %s %s" % (what, status, json.dumps(body, ensure_ascii=False)))
    return body


def id_number(region, birth, sequence):
    """A resident ID number (GB 11643) with its check character."""
    first17 = region + birth + sequence
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def cst_today():
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))


class Node:
    def __init__(self, region, url, proc, data_dir):
        self.region, self.url, self.proc, self.dir = region, url, proc, data_dir
        self.admin = self.agent = None

    def login(self, user):
        return expect(*call(self.url, "POST", "/api/v1/auth/token", body={"username": user, "password": user + "-demo-2026"}),
                      (200,), "login %s at %s" % (user, self.region))["accessToken"]


def new_card(node, id_region, sequence, rng):
    """A resident with an active card and a holder login at `node`, through its API (as an agent would)."""
    idn = id_number(id_region, "19%02d%02d%02d" % (rng.randint(60, 89), rng.randint(1, 12), rng.randint(1, 28)), "%03d" % sequence)
    name = "测试%s" % "甲乙丙丁戊己庚辛壬癸"[sequence % 10]
    phone = "137%08d" % rng.randint(0, 99_999_999)
    person = expect(*call(node.url, "POST", "/api/v1/persons", node.agent, {"idType": "resident", "idNumber": idn, "name": name, "phone": phone}),
                    (201,), "register person")["personId"]
    outlet = call(node.url, "GET", "/api/v1/outlets")[1]["outlets"][0]["outletId"]
    bank = call(node.url, "GET", "/api/v1/banks")[1]["banks"][0]["code"]
    app = expect(*call(node.url, "POST", "/api/v1/card-applications", node.agent,
                       {"personId": person, "channel": "counter", "applyOutletId": outlet, "bankCode": bank}), (201,), "apply")
    if app["status"] != "submitted":
        raise RuntimeError("application at %s: %s" % (node.region, app))
    produced = None
    for step in ["approve", "produce", "ready", "collect"]:
        r = expect(*call(node.url, "POST", "/api/v1/card-applications/%s/%s" % (app["applicationId"], step), node.agent), (200,), step)
        if step == "produce":
            produced = r
    card = produced["cardNumber"]
    expect(*call(node.url, "POST", "/api/v1/cards/%s/activate" % card, node.agent, {"pin": "271828"}), (200,), "activate")
    password = "bench-%s" % uuid.uuid4().hex[:12]
    expect(*call(node.url, "POST", "/api/v1/holders", body={"idType": "resident", "idNumber": idn, "name": name, "phone": phone,
                                                           "password": password}), (201,), "holder sign-up")
    holder = expect(*call(node.url, "POST", "/api/v1/auth/holder-token", body={"idNumber": idn, "password": password}),
                    (200,), "holder login")["accessToken"]
    return {"personId": person, "card": card, "holder": holder, "node": node}
