"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous answer has arrived.

Run as its own process (pinned to its own core by the runner) so that it never shares an
event loop with the server it measures. Prints one JSON object: requests, errors,
timeouts, requests per second and latency percentiles in milliseconds.
"""

import argparse
import asyncio
import json
import time
from itertools import cycle
from urllib.parse import urlsplit

import uvloop

TIMEOUT_SECONDS = 5.0


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.timeouts = 0
        self.recording = False


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
    host: str, port: int, requests: list[bytes], stats: Stats, stop: asyncio.Event, offset: int
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    pending = cycle(requests[offset:] + requests[:offset])
    while not stop.is_set():
        started = time.perf_counter()
        writer.write(next(pending))
        try:
            status = await asyncio.wait_for(read_response(reader), TIMEOUT_SECONDS)
        except TimeoutError:
            if stats.recording:
                stats.timeouts += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        if stats.recording:
            stats.latencies.append(time.perf_counter() - started)
            if status != 200:
                stats.errors += 1
    writer.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run(
    url: str,
    paths: list[str],
    headers: dict[str, str],
    connections: int,
    warmup: float,
    duration: float,
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode() for path in paths
    ]
    stats, stop = Stats(), asyncio.Event()
    step = max(1, len(requests) // connections)
    tasks = [
        asyncio.create_task(connection_loop(host, port, requests, stats, stop, i * step))
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--paths-file", required=True, help="one request path per line")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    with open(args.paths_file) as paths_file:
        paths = [line.strip() for line in paths_file if line.strip()]
    headers = dict(header.split(": ", 1) for header in args.header)
    result = uvloop.run(run(args.url, paths, headers, args.connections, args.warmup, args.duration))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
