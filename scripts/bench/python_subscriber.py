#!/usr/bin/env python3
"""The baseline of scripts/bench-daemon.sh: the old system's way of consuming, the `google-cloud-pubsub`
streaming-pull subscriber with the library's default flow control, and a callback that does the
equivalent of a no-op log action (count the message) and acks it.

    PUBSUB_EMULATOR_HOST=127.0.0.1:PORT python_subscriber.py PROJECT SUBSCRIPTION COUNT [TIMEOUT_SECONDS]

Prints one JSON line:
  seconds       from `subscriber.subscribe()` until the callback has acked COUNT distinct messages
                (the client is created and the imports are done before the clock starts);
  rate          COUNT / seconds;
  deliveries    callbacks run (more than COUNT if the emulator redelivered some);
  cpu_seconds   user + system CPU of the whole process (imports included);
  flush_seconds the graceful stop that follows (`future.cancel()` then `future.result()`), which
                sends the acks still queued in the library;
  version       of google-cloud-pubsub.
Exit status 1 if COUNT distinct messages did not arrive within TIMEOUT_SECONDS (300).
"""
import json
import resource
import sys
import threading
import time
from importlib.metadata import version

from google.cloud import pubsub_v1


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    project, subscription, count = argv[1], argv[2], int(argv[3])
    timeout = float(argv[4]) if len(argv) > 4 else 300.0

    lock = threading.Lock()
    seen = set()
    deliveries = [0]
    finished = threading.Event()
    finished_at = [0.0]

    def callback(message):
        # The no-op log action: count it (distinct ids, so a redelivery is not counted twice).
        with lock:
            deliveries[0] += 1
            seen.add(message.message_id)
            if len(seen) >= count and not finished.is_set():
                finished_at[0] = time.monotonic()
                finished.set()
        message.ack()

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, subscription)
    started = time.monotonic()
    future = subscriber.subscribe(path, callback=callback)  # default FlowControl()
    completed = finished.wait(timeout)
    done = finished_at[0] if completed else time.monotonic()
    future.cancel()
    try:
        future.result(timeout=60)
    except Exception:  # the cancelled future may report the cancellation
        pass
    flushed = time.monotonic()
    subscriber.close()
    seconds = done - started
    with lock:
        received = len(seen)
    print(json.dumps({
        "received": received,
        "deliveries": deliveries[0],
        "seconds": round(seconds, 3),
        "rate": round(received / seconds) if seconds > 0 else 0,
        "flush_seconds": round(flushed - done, 3),
        "cpu_seconds": round(cpu(), 1),
        "version": version("google-cloud-pubsub"),
        "grpcio": version("grpcio"),
        "flow_control": {"max_messages": pubsub_v1.types.FlowControl().max_messages,
                         "max_bytes": pubsub_v1.types.FlowControl().max_bytes},
    }))
    sys.stdout.flush()
    return 0 if completed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
