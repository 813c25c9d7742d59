#!/usr/bin/env python3
"""Pub/Sub emulator chores for scripts/bench-daemon.sh, over the REST API with the standard library only
(so that neither side of the benchmark sets up its own queue).

    pubsub_rest.py HOST:PORT PROJECT topic TOPIC
    pubsub_rest.py HOST:PORT PROJECT subscription SUBSCRIPTION TOPIC [ACK_DEADLINE_SECONDS]
    pubsub_rest.py HOST:PORT PROJECT publish TOPIC COUNT [BATCH] [THREADS]
    pubsub_rest.py HOST:PORT PROJECT drained SUBSCRIPTION...

`publish` sends COUNT Cloud Storage notification-shaped messages (attributes bucketId, objectId,
eventType, objectGeneration, payloadFormat; ~250 bytes of JSON_API_V1-like data) in requests of BATCH
(1000) messages on THREADS (4) keep-alive connections, and prints `published COUNT in S s`.

`drained` pulls each subscription once with returnImmediately and prints `SUBSCRIPTION N` for each,
N being how many messages it still delivers (0: nothing is left that is not acknowledged, as long as
no lease is held on them any more). Exit status 1 if any is not empty.
"""
import base64
import http.client
import json
import sys
import threading
import time


class Emulator:
    def __init__(self, address, project):
        host, port = address.rsplit(":", 1)
        self.host, self.port, self.project = host, int(port), project
        self.local = threading.local()

    def connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.conn = conn
        return conn

    def call(self, method, path, body=None, ok=(200,)):
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            conn = self.connection()
            try:
                conn.request(method, "/v1/" + path, body=payload, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
                continue
            if response.status not in ok:
                raise SystemExit(f"pubsub_rest: {method} {path}: HTTP {response.status}: {data[:300]!r}")
            return json.loads(data) if data else {}

    def topic(self, name):
        return f"projects/{self.project}/topics/{name}"

    def subscription(self, name):
        return f"projects/{self.project}/subscriptions/{name}"


def gcs_notification(i):
    bucket = f"ven-cust-bench{i % 50:02d}"
    obj = f"uploads/2019/01/{i // 1000:03d}/object-{i:06d}.csv"
    generation = str(1795925866210475 + i)
    data = {
        "kind": "storage#object",
        "id": f"{bucket}/{obj}/{generation}",
        "name": obj,
        "bucket": bucket,
        "generation": generation,
        "contentType": "text/csv",
        "size": str(1024 + i % 4096),
        "timeCreated": "2019-01-15T08:00:00.000Z",
    }
    return {
        "data": base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode(),
        "attributes": {
            "bucketId": bucket,
            "objectId": obj,
            "eventType": "OBJECT_FINALIZE",
            "objectGeneration": generation,
            "payloadFormat": "JSON_API_V1",
        },
    }


def publish(emulator, topic, count, batch, threads):
    path = emulator.topic(topic) + ":publish"
    chunks = [range(start, min(start + batch, count)) for start in range(0, count, batch)]
    lock = threading.Lock()
    published = [0]

    def worker(mine):
        for chunk in mine:
            reply = emulator.call("POST", path, {"messages": [gcs_notification(i) for i in chunk]})
            with lock:
                published[0] += len(reply.get("messageIds", []))

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(chunks[k::threads],)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.monotonic() - started
    if published[0] != count:
        raise SystemExit(f"pubsub_rest: published {published[0]} of {count}")
    print(f"published {count} in {seconds:.1f} s")


def drained(emulator, subscriptions):
    left = 0
    for name in subscriptions:
        reply = emulator.call("POST", emulator.subscription(name) + ":pull",
                              {"returnImmediately": True, "maxMessages": 1000})
        messages = reply.get("receivedMessages", [])
        if messages:
            # Give them straight back: this is a check, not a consumer.
            emulator.call("POST", emulator.subscription(name) + ":modifyAckDeadline",
                          {"ackIds": [m["ackId"] for m in messages], "ackDeadlineSeconds": 0})
        print(f"{name} {len(messages)}")
        left += len(messages)
    return left == 0


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    emulator = Emulator(argv[1], argv[2])
    command, args = argv[3], argv[4:]
    if command == "topic":
        emulator.call("PUT", emulator.topic(args[0]), {}, ok=(200, 409))
    elif command == "subscription":
        deadline = int(args[2]) if len(args) > 2 else 10
        emulator.call("PUT", emulator.subscription(args[0]),
                      {"topic": emulator.topic(args[1]), "ackDeadlineSeconds": deadline}, ok=(200, 409))
    elif command == "publish":
        batch = int(args[2]) if len(args) > 2 else 1000
        threads = int(args[3]) if len(args) > 3 else 4
        publish(emulator, args[0], int(args[1]), batch, threads)
    elif command == "drained":
        return 0 if drained(emulator, args) else 1
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
