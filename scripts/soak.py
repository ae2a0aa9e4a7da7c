#!/usr/bin/env python3
"""Soak: a long mixed load on a release Sharecast, on loopback only.

300 viewers over 5 channels (three MPEG-TS origins, one of them killed and restarted every 30 s,
and two HLS channels with 1 s segments), viewers coming and going all the time, and scrapes of
/metrics and the monitor API. Every minute it prints the server's RSS, anonymous memory, open
descriptors and threads. It fails when, after the warm-up, any of them grows past its bound, when a
viewer's bytes have a gap inside a packet (every 188th byte from the start of the body must be the
sync byte), or when a viewer that got an answer has no history row.

Usage: soak.py <sharecast binary> [minutes]   (make soak: SOAK_MINUTES, default 10)
"""
import asyncio
import http.server
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BINARY = sys.argv[1]
MINUTES = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
VIEWERS = int(os.environ.get("SOAK_VIEWERS", "300"))
# The rings (5 x 8 MiB) fill at the test pattern's rate in about four minutes; RSS counts their pages.
WARMUP_MINUTES = min(5.0, MINUTES / 3)
# Growth allowed from the warm-up sample to any later one.
BOUNDS = {"rss_kb": 48 * 1024, "anon_kb": 48 * 1024, "fds": 64, "threads": 8}
PACKET = 188


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


class Origin:
    """`sharecast origin`, which can be killed and started again on the same port."""

    def __init__(self, port):
        self.port = port
        self.process = None

    def start(self):
        self.process = subprocess.Popen([BINARY, "origin", "--port", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self):
        if self.process:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None


def record_stream(port, seconds=24):
    """The test pattern as an origin sends it, unpaced, for `seconds` of stream time."""
    process = subprocess.Popen([BINARY, "origin", "--port", str(port), "--unpaced"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /a.ts HTTP/1.0\r\n\r\n")
            data = b""
            want = 35_000 * seconds + 4096
            while len(data) < want:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        body = data.split(b"\r\n\r\n", 1)[1]
        return body[: len(body) // PACKET * PACKET]
    finally:
        process.kill()
        process.wait()


class HLSOrigin:
    """A live HLS origin: ~1 s segments cut from the recorded stream, a window of three that
    moves on every second, looping with a discontinuity tag."""

    def __init__(self, stream, port):
        size = 35_000 // PACKET * PACKET
        self.segments = [stream[i:i + size] for i in range(0, len(stream) - size, size)]
        self.port = port
        self.started = time.time()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path.endswith(".m3u8"):
                    body = origin.playlist().encode()
                    kind = "application/vnd.apple.mpegurl"
                elif path.startswith("/seg/"):
                    index = int(path[5:].split(".")[0])
                    body = origin.segments[index % len(origin.segments)]
                    kind = "video/mp2t"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def playlist(self):
        first = int(time.time() - self.started)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        for n in range(first, first + 3):
            if n % len(self.segments) == 0 and n > 0:
                lines.append("#EXT-X-DISCONTINUITY")
            lines += ["#EXTINF:1.000,", f"/seg/{n}.ts"]
        return "\n".join(lines) + "\n"


def figures(pid):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, value = line.split(":", 1)
            status[key] = value.strip()
    return {
        "rss_kb": int(status["VmRSS"].split()[0]),
        "anon_kb": int(status["RssAnon"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"]),
    }


class Tally:
    def __init__(self):
        self.answered = {}  # user agent -> channel
        self.bytes = 0
        self.gaps = []
        self.statuses = {}
        self.scrapes = 0
        self.scrape_errors = 0


async def viewer(number, channel, path, port, tally, stop_at):
    agent = f"soak-{number}"
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    writer.write(f"GET {path} HTTP/1.1\r\nHost: soak\r\nUser-Agent: {agent}\r\n\r\n".encode())
    await writer.drain()
    leave_at = min(stop_at, time.time() + random.uniform(5, 60))
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split(b" ", 2)[1])
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        tally.answered[agent] = channel
        if status != 200:
            return
        chunked = b"chunked" in head.lower()
        offset = 0
        pending = b""
        while time.time() < leave_at:
            data = await asyncio.wait_for(reader.read(65536), 30)
            if not data:
                break
            if chunked:
                pending += data
                data = b""
                while True:
                    end = pending.find(b"\r\n")
                    if end < 0:
                        break
                    size = int(pending[:end].split(b";")[0], 16)
                    if len(pending) < end + 2 + size + 2:
                        break
                    data += pending[end + 2:end + 2 + size]
                    pending = pending[end + 2 + size + 2:]
            first = (-offset) % PACKET
            for i in range(first, len(data), PACKET):
                if data[i] != 0x47:
                    tally.gaps.append(f"{agent} {channel}: byte {offset + i} is not a sync byte")
                    return
            offset += len(data)
            tally.bytes += len(data)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        pass
    finally:
        writer.close()


async def scraper(port, tally, stop_at):
    while time.time() < stop_at:
        for path in ("/metrics", "/api/monitor/streams?limit=50", "/api/monitor/stats", "/api/monitor/realtime"):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"GET {path} HTTP/1.0\r\nHost: soak\r\n\r\n".encode())
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(), 10)
                writer.close()
                tally.scrapes += 1
                if not answer.startswith(b"HTTP/1.0 200") and not answer.startswith(b"HTTP/1.1 200"):
                    tally.scrape_errors += 1
            except (OSError, asyncio.TimeoutError):
                tally.scrape_errors += 1
        await asyncio.sleep(2)


async def run(port, channels, pid, origin_to_kill):
    tally = Tally()
    started = time.time()
    stop_at = started + MINUTES * 60
    samples = []
    tasks = set()
    number = 0

    async def keep_viewers():
        nonlocal number
        while time.time() < stop_at:
            tasks.difference_update({t for t in tasks if t.done()})
            while len(tasks) < VIEWERS:
                number += 1
                channel, path = channels[number % len(channels)]
                tasks.add(asyncio.ensure_future(viewer(number, channel, path, port, tally, stop_at)))
            await asyncio.sleep(0.2)

    async def kill_origin():
        while time.time() < stop_at - 5:
            await asyncio.sleep(30)
            origin_to_kill.kill()
            await asyncio.sleep(2)
            await asyncio.get_running_loop().run_in_executor(None, origin_to_kill.start)

    async def sample():
        minute = 0
        while time.time() < stop_at:
            await asyncio.sleep(60 if minute else 5)
            minute += 1
            current = figures(pid)
            current["minute"] = round((time.time() - started) / 60, 1)
            samples.append(current)
            print(f"minute={current['minute']} rss_kb={current['rss_kb']} anon_kb={current['anon_kb']} "
                  f"fds={current['fds']} threads={current['threads']} viewers={len(tasks)} "
                  f"connections={number} MB={tally.bytes / 1e6:.0f} scrapes={tally.scrapes} statuses={tally.statuses}", flush=True)

    await asyncio.gather(keep_viewers(), kill_origin(), sample(), scraper(port, tally, stop_at))
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally, samples, number


def main():
    work = tempfile.mkdtemp(prefix="sharecast-soak-")
    ts_ports = [free_port() for _ in range(3)]
    origins = [Origin(p) for p in ts_ports]
    for origin in origins:
        origin.start()
    stream = record_stream(free_port())
    hls = HLSOrigin(stream, free_port())
    port = free_port()
    database = os.path.join(work, "db.sqlite")
    config = os.path.join(work, "sharecast.yaml")
    with open(config, "w") as f:
        f.write(f"""server: {{listen: 127.0.0.1, port: {port}, max_connections_per_address: 0}}
database: {{path: {database}}}
security: {{rate_limit: {{streams_per_minute: 0, api_per_minute: 0}}}}
shared_streaming:
  buffer_path: {os.path.join(work, "buffers")}
  grace_period: 3
  upstream: {{max_attempts: 1000, backoff_initial_ms: 200, backoff_max_ms: 1000}}
channels:
  - {{id: ts1, name: TS one, urls: ["http://127.0.0.1:{ts_ports[0]}/1.ts"]}}
  - {{id: ts2, name: TS two, urls: ["http://127.0.0.1:{ts_ports[1]}/2.ts"]}}
  - {{id: ts3, name: TS three, urls: ["http://127.0.0.1:{ts_ports[2]}/3.ts"]}}
  - {{id: hls1, name: HLS one, urls: ["http://127.0.0.1:{hls.port}/one/index.m3u8"]}}
  - {{id: hls2, name: HLS two, urls: ["http://127.0.0.1:{hls.port}/two/index.m3u8"]}}
""")
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([BINARY, "serve", "--config", config], stdout=log, stderr=log)
    failures = []
    try:
        wait_port(port)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /playlist.m3u HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            playlist = b""
            while chunk := s.recv(65536):
                playlist += chunk
        paths = re.findall(rb"/stream/[A-Za-z0-9_-]+", playlist)
        channels = [(f"channel{i}", p.decode()) for i, p in enumerate(paths)]
        print(f"soak: {MINUTES} min, {VIEWERS} viewers over {len(channels)} channels, server pid {server.pid}, files in {work}", flush=True)
        tally, samples, connections = asyncio.run(run(port, channels, server.pid, origins[2]))

        warm = [s for s in samples if s["minute"] >= WARMUP_MINUTES]
        if warm:
            base = warm[0]
            for sample in warm[1:]:
                for key, bound in BOUNDS.items():
                    if sample[key] - base[key] > bound:
                        failures.append(f"{key} grew by {sample[key] - base[key]} (bound {bound}) from minute {base['minute']} to {sample['minute']}")
        failures += tally.gaps[:10]
        # Every viewer that got an answer has a history row, once the server has written it.
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        db = sqlite3.connect(database)
        agents = {row[0] for row in db.execute("SELECT user_agent FROM shared_stream_clients")}
        missing = [a for a in tally.answered if a not in agents]
        if missing:
            failures.append(f"{len(missing)} of {len(tally.answered)} viewers have no history row (e.g. {missing[:3]})")
        open_rows = db.execute("SELECT COUNT(*) FROM shared_stream_clients WHERE disconnected_at IS NULL").fetchone()[0]
        if open_rows:
            failures.append(f"{open_rows} viewer rows still open after a clean stop")
        print(f"soak: connections={connections} answered={len(tally.answered)} statuses={tally.statuses} MB={tally.bytes / 1e6:.0f} "
              f"scrapes={tally.scrapes} scrape_errors={tally.scrape_errors} history_rows={len(agents)}", flush=True)
        if tally.scrape_errors > tally.scrapes // 100:
            failures.append(f"{tally.scrape_errors} failed scrapes of {tally.scrapes}")
    finally:
        if server.poll() is None:
            server.kill()
        for origin in origins:
            origin.kill()
        hls.server.shutdown()
    if failures:
        print("soak FAILED:\n  " + "\n  ".join(failures), flush=True)
        sys.exit(1)
    print("soak passed", flush=True)


if __name__ == "__main__":
    main()
