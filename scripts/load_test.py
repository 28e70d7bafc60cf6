"""Load on `zen serve` over loopback, every answer checked, next to `zen predict` offline.

1. `zen predict` classifies the texts offline (its throughput is the reference) and its logits
   are the expected answers.
2. `zen serve` starts on the same model; `--clients` concurrent clients, each on its own
   keep-alive connection, send one text per `POST /v1/classify` for `--duration` seconds. Every
   answer must be 200 with the offline label and logits within `--tolerance` (float32
   rounding of another batch composition); anything else counts as failed or wrong.
3. SIGTERM; the server must exit 0.

Prints one JSON object: requests/s, p50/p99 latency, failures, and requests/s as a fraction of
`zen predict`'s texts/s. The client is asyncio on raw sockets (no dependencies), bounded to
`--clients` requests in flight; it shares the machine's cores with the server.

    swift build -c release
    python3 scripts/load_test.py --model ../shared/fixtures/models/zen2-tiny-cls
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


async def client(port, requests, expected, deadline, tolerance, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = stats["next"]
    stats["next"] += 7919  # clients start at different texts
    while time.perf_counter() < deadline:
        item = index % len(requests)
        index += 1
        start = time.perf_counter()
        try:
            writer.write(requests[item])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = json.loads(await reader.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as error:
            stats["failed"] += 1
            stats["errors"].append(repr(error))
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        stats["latencies"].append(time.perf_counter() - start)
        if status != 200:
            stats["failed"] += 1
            stats["errors"].append(f"{status} {body}")
            continue
        result = body["results"][0]
        label, logits = expected[item]
        if result["label"] != label or max(abs(a - b) for a, b in zip(result["logits"], logits)) > tolerance:
            stats["wrong"] += 1
    writer.close()


async def load(port, texts, expected, clients, duration, tolerance):
    requests = []
    for text in texts:
        body = json.dumps({"texts": [text]}, ensure_ascii=False).encode()
        requests.append(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    stats = {"next": 0, "failed": 0, "wrong": 0, "latencies": [], "errors": []}
    start = time.perf_counter()
    await asyncio.gather(*(client(port, requests, expected, start + duration, tolerance, stats) for _ in range(clients)))
    stats["seconds"] = time.perf_counter() - start
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--texts", default=os.path.join(ROOT, "..", "shared", "data", "sentiment", "test.json"))
    parser.add_argument("--text-field", default="sentence")
    parser.add_argument("--zen", default=os.path.join(ROOT, ".build", "release", "zen"))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--serve-args", default="", help="more `zen serve` options, e.g. '--max-batch 16'")
    args = parser.parse_args()

    with open(args.texts) as f:
        texts = [json.loads(line)[args.text_field] for line in f if line.strip()]
    offline_rate, expected = offline(args.zen, args.model, texts, args.max_seq_length)

    port = free_port()
    server = subprocess.Popen([args.zen, "serve", "--model", f"m={args.model}", "--port", str(port),
                               "--max-seq-length", str(args.max_seq_length)] + args.serve_args.split(),
                              stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
            break
        except OSError:
            time.sleep(0.1)
    stats = asyncio.run(load(port, texts, expected, args.clients, args.duration, args.tolerance))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
        metrics = response.read().decode()
    server.send_signal(signal.SIGTERM)
    exit_status = server.wait(timeout=60)

    latencies = sorted(stats["latencies"])
    count = len(latencies)
    rate = count / stats["seconds"]
    batches = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
               if line.startswith(("zen_batch_size_sum", "zen_batch_size_count"))}
    print(json.dumps({
        "model": args.model,
        "clients": args.clients,
        "seconds": round(stats["seconds"], 1),
        "requests": count,
        "failed": stats["failed"],
        "wrong": stats["wrong"],
        "requests_per_second": round(rate, 1),
        "p50_ms": round(latencies[count // 2] * 1000, 2),
        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2),
        "mean_batch": round(batches["zen_batch_size_sum"] / max(1, batches["zen_batch_size_count"]), 1),
        "predict_texts_per_second": round(offline_rate, 1),
        "fraction_of_predict": round(rate / offline_rate, 3),
        "sigterm_exit_status": exit_status,
        "first_errors": stats["errors"][:5],
    }, indent=1))
    sys.exit(0 if stats["failed"] == 0 and stats["wrong"] == 0 and exit_status == 0 else 1)


if __name__ == "__main__":
    main()
