"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous answer has arrived.

Run as its own process (pinned to its own core by the runner) so that it never shares an
event loop with the server it measures. The requests come from a JSON-lines file
(method, path, headers, a JSON `body` or a `form`, expected status) and are cycled
through; a response with another status than expected is an error. Prints one JSON
object: requests, errors, timeouts, requests per second and latency percentiles in
milliseconds.
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from itertools import cycle
from typing import Any
from urllib.parse import urlencode, urlsplit

import uvloop

DEFAULT_TIMEOUT_SECONDS = 5.0


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.timeouts = 0
        self.statuses: Counter[int] = Counter()
        self.recording = False


def encode(spec: dict[str, Any], host: str, port: int) -> tuple[bytes, int]:
    """The request's bytes on the wire, and the status it should get."""
    headers = {"Host": f"{host}:{port}", **spec.get("headers", {})}
    body = b""
    if spec.get("form") is not None:
        body = urlencode(spec["form"]).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif spec.get("body") is not None:
        body = json.dumps(spec["body"]).encode()
        headers["Content-Type"] = "application/json"
    if body:
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"{spec.get('method', 'GET')} {spec['path']} HTTP/1.1\r\n{head}\r\n".encode()
    return request + body, int(spec.get("expect", 200))


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def connection_loop(
    host: str,
    port: int,
    requests: list[tuple[bytes, int]],
    stats: Stats,
    stop: asyncio.Event,
    offset: int,
    answer_timeout: float,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    pending = cycle(requests[offset:] + requests[:offset])
    while not stop.is_set():
        request, expected = next(pending)
        started = time.perf_counter()
        writer.write(request)
        try:
            status = await asyncio.wait_for(read_response(reader), answer_timeout)
        except TimeoutError:
            if stats.recording:
                stats.timeouts += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        if stats.recording:
            stats.latencies.append(time.perf_counter() - started)
            stats.statuses[status] += 1
            if status != expected:
                stats.errors += 1
    writer.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run(
    url: str,
    specs: list[dict[str, Any]],
    connections: int,
    warmup: float,
    duration: float,
    answer_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [encode(spec, host, port) for spec in specs]
    stats, stop = Stats(), asyncio.Event()
    step = max(1, len(requests) // connections)
    tasks = [
        asyncio.create_task(
            connection_loop(host, port, requests, stats, stop, i * step, answer_timeout)
        )
        for i in range(connections)
    ]
    await asyncio.sleep(warmup)
    stats.recording = True
    started = time.perf_counter()
    await asyncio.sleep(duration)
    stats.recording = False
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted(stats.latencies)
    return {
        "requests": len(latencies),
        "errors": stats.errors,
        "timeouts": stats.timeouts,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "statuses": {str(status): count for status, count in sorted(stats.statuses.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--requests-file", required=True, help="JSON lines: method, path, ...")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    args = parser.parse_args()
    with open(args.requests_file) as requests_file:
        specs = [json.loads(line) for line in requests_file if line.strip()]
    result = uvloop.run(
        run(args.url, specs, args.connections, args.warmup, args.duration, args.timeout)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
