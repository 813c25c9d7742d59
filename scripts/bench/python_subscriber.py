#!/usr/bin/env python3
"""The Python side of scripts/bench-daemon.sh: the old system's way of consuming, run the way a user
scales it, as a fleet of PROCESSES processes (1) on one subscription. Each process is a
`google-cloud-pubsub` streaming-pull subscriber with the library's default flow control, and a callback
that does the equivalent of a no-op log action (count the message) and acks it.

    PUBSUB_EMULATOR_HOST=127.0.0.1:PORT python_subscriber.py PROJECT SUBSCRIPTION COUNT \\
        [TIMEOUT_SECONDS] [PROCESSES] [EMULATOR_PID]

The processes import the library and create their clients first; then all of them call
`subscriber.subscribe()` together, and the clock runs from that moment until the fleet has received
COUNT distinct messages (the messages of scripts/bench/pubsub_rest.py `publish`, numbered from 0 by
their objectGeneration attribute: one shared byte per message says whether any process had it).

Prints one JSON line:
  processes     PROCESSES;
  seconds       from the common start until COUNT distinct messages were received and acked;
  rate          COUNT / seconds (the fleet's messages/s);
  received      distinct messages received; deliveries: callbacks run (more if some were redelivered);
  cpu_seconds   user + system CPU of all the processes over the drain (common start to COUNT
                received), summed; cpu_us_per_message the same per message;
  cpu_seconds_with_startup  the same from each process's start (imports and client included);
  emulator_cpu_seconds      user + system CPU of process EMULATOR_PID over the drain (if given);
  flush_seconds the graceful stop that follows (`future.cancel()` then `future.result()` in every
                process), which sends the acks still queued in the library;
  version       of google-cloud-pubsub.
Exit status 1 if COUNT distinct messages did not arrive within TIMEOUT_SECONDS (300).
"""
import json
import multiprocessing
import os
import queue
import resource
import sys
import threading
import time
from importlib.metadata import version

# pubsub_rest.py: objectGeneration of message i.
FIRST_GENERATION = 1795925866210475


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid):
    """utime + stime of process PID from /proc, in seconds (its own threads, not its children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def subscriber_process(index, project, subscription, count, timeout, seen, counts, ready, go, done, done_at, results):
    """One process of the fleet: subscribes at `go`, stops once `done` is set by any of them."""
    from google.cloud import pubsub_v1

    lock = threading.Lock()
    deliveries = [0]
    mine = [0]

    def callback(message):
        # The no-op log action: count it (distinct messages across the fleet).
        try:
            i = int(message.attributes.get("objectGeneration", "")) - FIRST_GENERATION
        except ValueError:
            i = -1
        with lock:
            deliveries[0] += 1
            if 0 <= i < count and seen[i] == 0:
                seen[i] = 1
                mine[0] += 1
                counts[index] = mine[0]
                if sum(counts) >= count and not done.is_set():
                    done_at.value = time.monotonic()
                    done.set()
        message.ack()

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, subscription)
    started_cpu = cpu()
    with ready.get_lock():
        ready.value += 1
    go.wait()
    drain_cpu0 = cpu()
    future = subscriber.subscribe(path, callback=callback)  # default FlowControl()
    done.wait(timeout)
    drain_cpu1 = cpu()
    stopping = time.monotonic()
    future.cancel()
    try:
        future.result(timeout=60)
    except Exception:  # the cancelled future may report the cancellation
        pass
    flush = time.monotonic() - stopping
    subscriber.close()
    results.put({
        "index": index,
        "flow_control": {"max_messages": pubsub_v1.types.FlowControl().max_messages,
                         "max_bytes": pubsub_v1.types.FlowControl().max_bytes},
        "deliveries": deliveries[0],
        "drain_cpu": drain_cpu1 - drain_cpu0,
        "cpu_with_startup": drain_cpu1,
        "startup_cpu": started_cpu,
        "flush_seconds": flush,
    })


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    project, subscription, count = argv[1], argv[2], int(argv[3])
    timeout = float(argv[4]) if len(argv) > 4 else 300.0
    processes = int(argv[5]) if len(argv) > 5 else 1
    emulator_pid = argv[6] if len(argv) > 6 else ""

    # spawn: every process starts a fresh interpreter (gRPC does not survive fork once it runs).
    mp = multiprocessing.get_context("spawn")
    seen = mp.RawArray("b", count)
    counts = mp.RawArray("q", processes)
    ready = mp.Value("i", 0)  # processes that have imported the library and made their client
    go = mp.Event()
    done = mp.Event()
    done_at = mp.RawValue("d", 0.0)
    results = mp.Queue()
    workers = [
        mp.Process(target=subscriber_process,
                   args=(k, project, subscription, count, timeout, seen, counts, ready, go, done, done_at, results),
                   daemon=True)
        for k in range(processes)
    ]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 120
    while ready.value < processes:
        if any(w.exitcode is not None for w in workers) or time.monotonic() > deadline:
            for w in workers:
                w.kill()
            raise SystemExit(f"python_subscriber: {processes - ready.value} of the {processes} subscriber processes did not start")
        time.sleep(0.02)
    emulator0 = process_cpu(emulator_pid) if emulator_pid else 0.0
    started = time.monotonic()
    go.set()
    completed = False
    while True:
        if done.wait(0.1):
            completed = True
            break
        if time.monotonic() - started > timeout or any(w.exitcode is not None for w in workers):
            break
    finished = done_at.value if completed else time.monotonic()
    done.set()  # stops the processes that are left
    emulator1 = process_cpu(emulator_pid) if emulator_pid else 0.0
    reports = []
    for _ in workers:
        try:
            reports.append(results.get(timeout=120))
        except queue.Empty:
            print(f"python_subscriber: {len(workers) - len(reports)} process(es) did not report", file=sys.stderr)
            break
    for w in workers:
        w.join(30)
    seconds = finished - started
    received = sum(1 for b in seen if b)
    drain_cpu = sum(r["drain_cpu"] for r in reports)
    print(json.dumps({
        "processes": processes,
        "received": received,
        "deliveries": sum(r["deliveries"] for r in reports),
        "seconds": round(seconds, 3),
        "rate": round(received / seconds) if seconds > 0 else 0,
        "cpu_seconds": round(drain_cpu, 2),
        "cpu_us_per_message": round(drain_cpu / received * 1e6, 1) if received else 0,
        "cpu_seconds_with_startup": round(sum(r["cpu_with_startup"] for r in reports), 2),
        "emulator_cpu_seconds": round(emulator1 - emulator0, 2),
        "flush_seconds": round(max((r["flush_seconds"] for r in reports), default=0), 3),
        "flow_control": reports[0]["flow_control"] if reports else None,
        "version": version("google-cloud-pubsub"),
        "grpcio": version("grpcio"),
    }))
    sys.stdout.flush()
    return 0 if completed and received >= count and len(reports) == processes else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
