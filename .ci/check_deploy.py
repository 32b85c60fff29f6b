#!/usr/bin/env python3
"""Checks docker-compose.yml and the Dockerfile with real parsers (PyYAML and
dockerfile-parse), since no container engine runs in CI: every service the site needs is
there, pinned, wired to the app, and the image is multi-stage and runs unprivileged."""

import re
import sys

import yaml
from dockerfile_parse import DockerfileParser

problems = []


def need(ok, what):
    if not ok:
        problems.append(what)


with open("docker-compose.yml", encoding="utf-8") as f:
    compose = yaml.safe_load(f)
services = compose.get("services", {})
for name in ("postgres", "meilisearch", "mailpit", "app"):
    need(name in services, f"docker-compose.yml: no service {name!r}")

if "postgres" in services:
    need(services["postgres"].get("image", "").startswith("postgres:16"),
         "postgres: the image must be PostgreSQL 16")
    need("healthcheck" in services["postgres"], "postgres: needs a healthcheck for the app to wait on")

meili_key = None
if "meilisearch" in services:
    meili = services["meilisearch"]
    need(re.fullmatch(r"getmeili/meilisearch:v1\.\d+\.\d+", meili.get("image", "")) is not None,
         "meilisearch: the image must be a pinned v1 release (getmeili/meilisearch:v1.x.y)")
    meili_key = (meili.get("environment") or {}).get("MEILI_MASTER_KEY")
    need(bool(meili_key) and len(meili_key) >= 16,
         "meilisearch: needs a MEILI_MASTER_KEY of at least 16 bytes")

if "mailpit" in services:
    ports = [str(p) for p in services["mailpit"].get("ports", [])]
    need(any(p.endswith(":8025") for p in ports), "mailpit: its web UI (8025) must be published")

if "app" in services:
    app = services["app"]
    build = app.get("build")
    need(build in (".", {"context": "."}) or (isinstance(build, dict) and build.get("context") == "."),
         "app: must be built from the Dockerfile at the root")
    env = app.get("environment") or {}
    need(str(env.get("QUDAO_DATABASE_URL", "")).startswith("postgres://")
         and "@postgres:" in env.get("QUDAO_DATABASE_URL", ""),
         "app: QUDAO_DATABASE_URL must point at the postgres service")
    need(env.get("QUDAO_MEILI_URL") == "http://meilisearch:7700",
         "app: QUDAO_MEILI_URL must point at the meilisearch service")
    need(env.get("QUDAO_MEILI_KEY") == meili_key,
         "app: QUDAO_MEILI_KEY must be Meilisearch's master key")
    need(str(env.get("QUDAO_SMTP_URL", "")).startswith("smtp://mailpit:"),
         "app: QUDAO_SMTP_URL must point at mailpit")
    grace = str(app.get("stop_grace_period", ""))
    need(re.fullmatch(r"([3-9]|1[0-9])s", grace) is not None,
         "app: stop_grace_period must leave qudao its 2 s to stop, and not much more (3s to 19s)")
    depends = app.get("depends_on") or {}
    need("postgres" in depends, "app: must start after postgres")
    need(any(str(p).endswith(":8080") for p in app.get("ports", [])), "app: port 8080 must be published")

parser = DockerfileParser(path="Dockerfile")
instructions = parser.structure
froms = [i for i in instructions if i["instruction"] == "FROM"]
need(len(froms) >= 2, "Dockerfile: must be multi-stage (a build stage and a runtime stage)")
last_from = max((i["startline"] for i in froms), default=-1)
runtime = [i for i in instructions if i["startline"] > last_from]
need(any(i["instruction"] == "COPY" and "--from=" in i["value"] for i in runtime),
     "Dockerfile: the runtime stage must copy the binary from the build stage")
users = [i["value"].strip() for i in runtime if i["instruction"] == "USER"]
need(bool(users) and users[-1] not in ("root", "0"), "Dockerfile: the runtime stage must run as a non-root user")
need(any(i["instruction"] == "EXPOSE" and "8080" in i["value"] for i in runtime),
     "Dockerfile: must expose 8080")
need(any(i["instruction"] == "CMD" for i in runtime), "Dockerfile: needs a CMD")
need(parser.baseimage.startswith("debian:") and "slim" in parser.baseimage,
     "Dockerfile: the runtime image should be a slim Debian")
need(any(i["instruction"] == "RUN" and "--locked" in i["value"] for i in instructions),
     "Dockerfile: the build must use the lock file (--locked)")

if problems:
    for p in problems:
        print(f"deployment check: {p}", file=sys.stderr)
    sys.exit(1)
print(f"docker-compose.yml ({len(services)} services) and Dockerfile ({len(froms)} stages) check out")
