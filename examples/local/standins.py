#!/usr/bin/env python3
"""Local stand-ins for the two services the demo pipelines call that have no emulator:
the BigQuery jobs API (load jobs) and Elasticsearch (the alias API, and the `venraas` index
whose newest document lists the customers the hourly job fans out to).

    examples/local/standins.py PORT

They answer like the real APIs for the calls Horae makes (jobs.insert, jobs.get; GET _alias,
POST _aliases, GET venraas/_search) and print every request, so the demo shows what Horae sent. They are stand-ins
for a local demo, not emulators: nothing is loaded and no index exists.
"""
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JOBS = {}
ALIASES = {}
# The customer list, as the newest document of the `venraas` index holds it.
CUSTOMERS = {
    "update_dt": "2026-03-04T23:10:00+08:00",
    "companies": [
        {"code_name": "sohappy", "enabled": True},
        {"code_name": "closedshop", "enabled": False},
        {"code_name": "hoohoo", "enabled": True},
    ],
}
LOCK = threading.Lock()


def log(line):
    print(f"[stand-in] {line}", flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def do_POST(self):
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs", path)
        if m:
            job = self.body()
            ref = job.get("jobReference", {})
            load = job.get("configuration", {}).get("load", {})
            table = load.get("destinationTable", {})
            log(f"BigQuery load job {ref.get('jobId')}: {load.get('sourceUris')} -> "
                f"{table.get('datasetId')}.{table.get('tableId')} ({load.get('sourceFormat')}, {load.get('writeDisposition')})")
            with LOCK:
                if ref.get("jobId") in JOBS:
                    return self.reply(409, {"error": {"code": 409, "message": f"Already Exists: Job {m.group(1)}:{ref.get('jobId')}", "status": "ALREADY_EXISTS"}})
                JOBS[ref.get("jobId")] = job
            job = dict(job, status={"state": "RUNNING"}, id=f"{m.group(1)}:{ref.get('jobId')}")
            return self.reply(200, job)
        if path == "/_aliases":
            actions = self.body().get("actions", [])
            log(f"Elasticsearch _aliases: {json.dumps(actions)}")
            with LOCK:
                for a in actions:
                    for verb, spec in a.items():
                        if verb == "add":
                            ALIASES.setdefault(spec["alias"], set()).add(spec["index"])
                        elif verb == "remove":
                            ALIASES.get(spec["alias"], set()).discard(spec["index"])
            return self.reply(200, {"acknowledged": True})
        self.reply(404, {"error": f"no route {path}"})

    def do_GET(self):
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs/([^/]+)", path)
        if m:
            with LOCK:
                job = JOBS.get(m.group(2))
            if job is None:
                return self.reply(404, {"error": {"code": 404, "message": "Not found: Job", "status": "NOT_FOUND"}})
            done = dict(job, status={"state": "DONE"}, statistics={"load": {"outputRows": "42"}})
            return self.reply(200, done)
        if path == "/venraas/_search":
            log(f"Elasticsearch search: {self.path}")
            return self.reply(200, {
                "took": 1, "timed_out": False,
                "hits": {"total": {"value": 1, "relation": "eq"}, "max_score": None,
                         "hits": [{"_index": "venraas", "_id": "customers", "_score": None, "_source": CUSTOMERS}]},
            })
        m = re.fullmatch(r"/_alias/([^/]+)", path)
        if m:
            with LOCK:
                indices = ALIASES.get(m.group(1))
            if not indices:
                return self.reply(404, {"error": "alias missing", "status": 404})
            return self.reply(200, {i: {"aliases": {m.group(1): {}}} for i in indices})
        self.reply(404, {"error": f"no route {path}"})


if __name__ == "__main__":
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"ready 127.0.0.1:{port}", flush=True)
    server.serve_forever()
