"""Load on `zen serve` over loopback, every answer checked, next to `zen predict` offline; and
the same load beside an attack on the server's connections.

1. `zen predict` classifies the texts offline (its throughput is the reference) and its logits
   are the expected answers.
2. `zen serve` starts on the same model (under `--nofile` descriptors, what `ulimit -n` sets);
   `--clients` concurrent clients, each on its own keep-alive connection, send one text per
   `POST /v1/classify` for `--duration` seconds: the quiet phase. Every answer must be 200 with
   the offline label and logits within `--tolerance` (float32 rounding of another batch
   composition); anything else counts as failed or wrong.
3. With `--slow-loris N` or `--oversized N`, an attacker process then runs for
   `--attack-duration` seconds beside the same clients: N slow-loris connections, each sending a
   request head a byte a second (a new one, a second after the server ends the last), and N
   oversized requests (`Content-Length: 8000000`, `Connection: close`, the body sent until the
   answer comes, the socket then left open until the attack ends), spread over the first half
   of the attack. The good clients' latency is measured in each phase: none may fail, and their
   p99 must stay within twice the quiet phase's. After the attack (its sockets closed) the
   server's descriptors (/proc/PID/fd) must come back to what they were at the end of the quiet
   phase, and its resident memory (VmRSS) within 10% of it, while the good clients go on.
4. SIGTERM; the server must exit 0.

Prints one JSON object: requests/s, p50/p99 latency, failures, requests/s as a fraction of
`zen predict`'s texts/s; with an attack, the p50/p99 of each phase, what the attackers got, and the
server's descriptors and RSS at the start, at their peak and after. The clients are asyncio on raw
sockets (no dependencies), the attacker in a process of its own; they share the machine's cores
with the server. The script raises its own descriptor limit (which needs root past the hard limit).

    swift build -c release
    python3 scripts/load_test.py --model ../shared/fixtures/models/zen2-tiny-cls
    python3 scripts/load_test.py --model ../shared/fixtures/models/zen2-tiny-cls --nofile 1024 --slow-loris 1000 --oversized 1000
"""
import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# "Back to the start" for resident memory: the server hands freed memory back to the system
# after a flood of connections, but pages still partly used (heap fragmentation) stay.
RSS_TOLERANCE = 1.10


def offline(zen, model, texts, max_seq_length):
    """`zen predict` on every text: (texts/s, [(label, logits)])."""
    with tempfile.TemporaryDirectory() as directory:
        source, target = os.path.join(directory, "in.jsonl"), os.path.join(directory, "out.jsonl")
        with open(source, "w") as f:
            for text in texts:
                f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        start = time.perf_counter()
        subprocess.run([zen, "predict", "--model", model, "--task", "classification", "--max-seq-length",
                        str(max_seq_length), "--input", source, "--output", target], check=True)
        seconds = time.perf_counter() - start
        with open(target) as f:
            lines = [json.loads(line) for line in f]
    return len(texts) / seconds, [(line["label"], line["logits"]) for line in lines]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_usage(pid):
    """(open descriptors, VmRSS in MB) of the server."""
    descriptors = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return descriptors, rss / 1024


async def read_response(reader):
    """(status, parsed JSON body) of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return status, json.loads(await reader.readexactly(length))


async def client(port, requests, expected, stop, tolerance, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = stats["next"]
    stats["next"] += 7919  # clients start at different texts
    while not stop.is_set():
        item = index % len(requests)
        index += 1
        start = time.perf_counter()
        try:
            writer.write(requests[item])
            status, body = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as error:
            stats["failed"].append(start)
            stats["errors"].append(repr(error))
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        stats["latencies"].append((start, time.perf_counter() - start))
        if status != 200:
            stats["failed"].append(start)
            stats["errors"].append(f"{status} {body}")
            continue
        result = body["results"][0]
        label, logits = expected[item]
        if result["label"] != label or max(abs(a - b) for a, b in zip(result["logits"], logits)) > tolerance:
            stats["wrong"] += 1
    writer.close()


# The attacker: a process of its own, so that its sockets do not slow the good clients' event loop.

def outcome(answer):
    """What a read of the server's answer got: its status, `closed` (the end, no answer), `reset` or `none`."""
    if not answer.done() or answer.cancelled():
        return "none"
    if answer.exception() is not None:
        return "reset" if isinstance(answer.exception(), ConnectionResetError) else type(answer.exception()).__name__
    data = answer.result()
    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed"


async def slow_loris(port, stopping, stats):
    """One slow-loris client: a request head at a byte a second; again a second after the server ends it."""
    while not stopping.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats["slow_loris_connect_failed"] += 1
            await asyncio.sleep(1)
            continue
        stats["slow_loris_connections"] += 1
        writer.write(b"POST /v1/classify HTTP/1.1\r\n")
        answer = asyncio.ensure_future(reader.read(4096))
        trickle = iter(b"Host: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 1_000_000)
        while not stopping.is_set() and not answer.done():
            try:
                writer.write(bytes([next(trickle)]))
            except (OSError, StopIteration):
                break
            await asyncio.wait([answer], timeout=1)
        if answer.done():
            stats[f"slow_loris_{outcome(answer)}"] += 1
        answer.cancel()
        writer.close()
        await asyncio.sleep(1)  # the 503's Retry-After, and no reconnect storm


async def oversized(port, delay, stopping, stats, held):
    """One oversized `Connection: close` request, whose socket is then left open until the attack ends."""
    await asyncio.sleep(delay)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats["oversized_connect_failed"] += 1
        return
    held.append(writer)
    writer.write(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 8000000\r\nConnection: close\r\n\r\n")
    answer = asyncio.ensure_future(reader.read(4096))
    chunk, sent = b"a" * 65536, 0
    while sent < 8_000_000 and not answer.done() and not stopping.is_set():
        try:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), timeout=1)
        except (OSError, asyncio.TimeoutError):
            break
        sent += len(chunk)
    await asyncio.wait([answer], timeout=30)
    stats[f"oversized_{outcome(answer)}"] += 1
    answer.cancel()
    stats["oversized_body_bytes_sent"] += sent


async def attack_main(port, slow, large, duration, stop):
    stats, held = collections.Counter(), []
    stopping = asyncio.Event()
    tasks = [asyncio.ensure_future(slow_loris(port, stopping, stats)) for _ in range(slow)]
    tasks += [asyncio.ensure_future(oversized(port, index * duration / 2 / max(1, large), stopping, stats, held))
              for index in range(large)]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    stopping.set()
    await asyncio.wait(tasks, timeout=40)
    for writer in held:
        writer.close()
    return dict(stats)


def attack(port, slow, large, duration, stop, results):
    results.put(asyncio.run(attack_main(port, slow, large, duration, stop)))


def percentiles(latencies):
    latencies = sorted(latencies)
    count = len(latencies)
    if not count:
        return None, None
    return round(latencies[count // 2] * 1000, 2), round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2)


async def run(args, port, pid, texts, expected):
    requests = []
    for text in texts:
        body = json.dumps({"texts": [text]}, ensure_ascii=False).encode()
        requests.append(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    stats = {"next": 0, "failed": [], "wrong": 0, "latencies": [], "errors": []}
    stop = asyncio.Event()
    start = time.perf_counter()
    clients = asyncio.gather(*(client(port, requests, expected, stop, args.tolerance, stats) for _ in range(args.clients)))
    await asyncio.sleep(args.duration)
    report = {"quiet_end": time.perf_counter()}
    if args.slow_loris or args.oversized:
        report["usage_start"] = server_usage(pid)
        peak = report["usage_start"]
        processes = multiprocessing.get_context("spawn")  # a fresh interpreter, not a copy of this event loop
        stop_attack, results = processes.Event(), processes.Queue()
        attacker = processes.Process(target=attack, args=(port, args.slow_loris, args.oversized,
                                                                args.attack_duration, stop_attack, results))
        attacker.start()
        attack_end = time.perf_counter() + args.attack_duration
        while time.perf_counter() < attack_end:
            await asyncio.sleep(0.5)
            peak = tuple(map(max, peak, server_usage(pid)))
        report["attack_end"] = time.perf_counter()
        stop_attack.set()
        report["attack"] = await asyncio.get_running_loop().run_in_executor(None, results.get, True, 120)
        attacker.join()
        # The good clients go on while the server settles: at most --settle seconds.
        settled = time.perf_counter() + args.settle
        while time.perf_counter() < settled:
            usage = server_usage(pid)
            peak = tuple(map(max, peak, usage))
            if usage[0] <= report["usage_start"][0] and usage[1] <= report["usage_start"][1] * RSS_TOLERANCE:
                break
            await asyncio.sleep(0.5)
        report["settle_seconds"] = round(time.perf_counter() - report["attack_end"], 1)
        report["usage_peak"], report["usage_after"] = peak, server_usage(pid)
    stop.set()
    await clients
    stats["seconds"] = time.perf_counter() - start
    return stats, report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--texts", default=os.path.join(ROOT, "..", "shared", "data", "sentiment", "test.json"))
    parser.add_argument("--text-field", default="sentence")
    parser.add_argument("--zen", default=os.path.join(ROOT, ".build", "release", "zen"))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=30, help="seconds of the quiet phase")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--serve-args", default="", help="more `zen serve` options, e.g. '--max-batch 16'")
    parser.add_argument("--nofile", type=int, help="the server's descriptor limit (ulimit -n), e.g. 1024")
    parser.add_argument("--slow-loris", type=int, default=0, help="slow-loris connections in the attack")
    parser.add_argument("--oversized", type=int, default=0, help="oversized Connection: close requests in the attack")
    parser.add_argument("--attack-duration", type=float, default=60)
    parser.add_argument("--settle", type=float, default=30, help="most seconds the server may take to release the attack's resources")
    args = parser.parse_args()

    # The clients' own sockets: the good ones, the attack's, and their reconnections.
    wanted = args.clients + 2 * (args.slow_loris + args.oversized) + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, soft), max(wanted, hard)))

    with open(args.texts) as f:
        texts = [json.loads(line)[args.text_field] for line in f if line.strip()]
    offline_rate, expected = offline(args.zen, args.model, texts, args.max_seq_length)

    def limit_descriptors():
        if args.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    port = free_port()
    server = subprocess.Popen([args.zen, "serve", "--model", f"m={args.model}", "--port", str(port),
                               "--max-seq-length", str(args.max_seq_length)] + args.serve_args.split(),
                              stderr=subprocess.DEVNULL, preexec_fn=limit_descriptors)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
            break
        except OSError:
            time.sleep(0.1)
    stats, report = asyncio.run(run(args, port, server.pid, texts, expected))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
        metrics = response.read().decode()
    server.send_signal(signal.SIGTERM)
    exit_status = server.wait(timeout=60)

    latencies = [latency for _, latency in stats["latencies"]]
    count = len(latencies)
    rate = count / stats["seconds"]
    p50, p99 = percentiles(latencies)
    batches = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
               if line.startswith(("zen_batch_size_sum", "zen_batch_size_count"))}
    result = {
        "model": args.model,
        "clients": args.clients,
        "seconds": round(stats["seconds"], 1),
        "requests": count,
        "failed": len(stats["failed"]),
        "wrong": stats["wrong"],
        "requests_per_second": round(rate, 1),
        "p50_ms": p50,
        "p99_ms": p99,
        "mean_batch": round(batches["zen_batch_size_sum"] / max(1, batches["zen_batch_size_count"]), 1),
        "predict_texts_per_second": round(offline_rate, 1),
        "fraction_of_predict": round(rate / offline_rate, 3),
        "sigterm_exit_status": exit_status,
        "first_errors": stats["errors"][:5],
    }
    passed = stats["failed"] == [] and stats["wrong"] == 0 and exit_status == 0
    if "attack" in report:
        quiet = [latency for start, latency in stats["latencies"] if start < report["quiet_end"]]
        attacked = [latency for start, latency in stats["latencies"] if report["quiet_end"] <= start < report["attack_end"]]
        (quiet_p50, quiet_p99), (attack_p50, attack_p99) = percentiles(quiet), percentiles(attacked)
        start, peak, after = report["usage_start"], report["usage_peak"], report["usage_after"]
        result.update({
            "nofile": args.nofile,
            "slow_loris": args.slow_loris,
            "oversized": args.oversized,
            "attack_seconds": args.attack_duration,
            "quiet": {"requests": len(quiet), "p50_ms": quiet_p50, "p99_ms": quiet_p99},
            "under_attack": {"requests": len(attacked), "p50_ms": attack_p50, "p99_ms": attack_p99,
                             "failed": sum(1 for failed in stats["failed"] if report["quiet_end"] <= failed < report["attack_end"])},
            "p99_attack_over_quiet": round(attack_p99 / quiet_p99, 2),
            "attackers_got": dict(sorted(report["attack"].items())),
            "server_descriptors": {"start": start[0], "peak": peak[0], "after": after[0]},
            "server_rss_mb": {"start": round(start[1], 1), "peak": round(peak[1], 1), "after": round(after[1], 1)},
            "settle_seconds": report["settle_seconds"],
        })
        passed = passed and attack_p99 <= 2 * quiet_p99 and after[0] <= start[0] and after[1] <= start[1] * RSS_TOLERANCE
    result["passed"] = passed
    print(json.dumps(result, indent=1))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
