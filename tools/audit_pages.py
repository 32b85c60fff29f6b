#!/usr/bin/env python3
"""Audits qudao's main pages as a phone sees them: Lighthouse (accessibility, best practices,
performance) and axe-core, against `qudao` serving its demo market on a fresh embedded
database. Fails when a page scores under 95 for accessibility or best practices, under 90 for
performance, or has any axe violation.

Usage: tools/audit_pages.py QUDAO_BINARY NODE_TOOLS_DIR
  NODE_TOOLS_DIR holds node_modules/.bin/lighthouse and node_modules/.bin/axe
  (npm i -E lighthouse@12.2.3 @axe-core/cli@4.10.2).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PAGES = [
    ("/", None),
    ("/search?q=%E6%B4%8B%E8%8A%8B", None),
    ("/listings/3", None),
    ("/login", None),
    ("/register", None),
    ("/cart", "buyer"),
    ("/officials/regions/511723", "official-kaijiang"),
    ("/producer", "coop-panshi"),
]
FLOORS = {"accessibility": 0.95, "best-practices": 0.95, "performance": 0.90}
PASSWORD = "qudao-audit-pages"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(base, user):
    req = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"username": user, "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.load(r)["token"]


def main():
    binary, tools = sys.argv[1], sys.argv[2]
    bin_dir = os.path.join(tools, "node_modules", ".bin")
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    failures = []
    with tempfile.TemporaryDirectory() as data:
        env = dict(
            os.environ,
            QUDAO_DATA_DIR=data,
            QUDAO_DATABASE_URL=f"sqlite://{data}/qudao.db?mode=rwc",
            QUDAO_LISTEN=f"127.0.0.1:{port}",
            QUDAO_DEMO_PASSWORD=PASSWORD,
            QUDAO_RATE_LIMITS="false",
        )
        server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        sys.exit(f"qudao did not start on {base}")
                    time.sleep(0.3)
            rows = []
            for path, user in PAGES:
                url = base + path
                headers = {}
                if user:
                    headers["Authorization"] = f"Bearer {token(base, user)}"
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as h:
                    json.dump(headers, h)
                out = os.path.join(data, "lighthouse.json")
                subprocess.run(
                    [
                        os.path.join(bin_dir, "lighthouse"), url, "--quiet",
                        "--form-factor=mobile",
                        "--only-categories=performance,accessibility,best-practices",
                        f"--extra-headers={h.name}",
                        "--chrome-flags=--headless --no-sandbox --disable-gpu",
                        "--output=json", f"--output-path={out}",
                    ],
                    env=dict(os.environ, CHROME_PATH=chrome),
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                with open(out) as f:
                    report = json.load(f)
                scores = {k: report["categories"][k]["score"] for k in FLOORS}
                for k, floor in FLOORS.items():
                    if scores[k] is None or scores[k] < floor:
                        failures.append(f"{path}: {k} {scores[k]} < {floor}")
                # axe reads the page as the browser shows it; pages behind a sign-in are
                # audited by Lighthouse's own axe run above, with the bearer header.
                violations = "-"
                if not user:
                    axe = subprocess.run(
                        [
                            os.path.join(bin_dir, "axe"), url,
                            "--chromedriver-path", os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"),
                            "--chrome-options=headless,no-sandbox,disable-gpu",
                            "--stdout",
                        ],
                        capture_output=True,
                        text=True,
                    )
                    try:
                        results = json.loads(axe.stdout)
                    except json.JSONDecodeError:
                        sys.exit(f"axe gave no report for {path}: {axe.stderr[-2000:]}")
                    found = [v["id"] for r in results for v in r.get("violations", [])]
                    violations = str(len(found))
                    if found:
                        failures.append(f"{path}: axe {', '.join(found)}")
                rows.append((path, scores, violations))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{'page':<34} {'a11y':>5} {'best':>5} {'perf':>5} {'axe':>4}")
    for path, s, v in rows:
        pct = lambda x: "-" if x is None else str(round(x * 100))
        print(f"{path:<34} {pct(s['accessibility']):>5} {pct(s['best-practices']):>5} {pct(s['performance']):>5} {v:>4}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
