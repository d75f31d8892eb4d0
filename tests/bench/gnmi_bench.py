#!/usr/bin/env python3
"""gNMI benchmark of tetherd over loopback with a Python grpcio client (issue 3).

    cargo build --release -p tetherd
    .venv/bin/python tests/bench/gnmi_bench.py            # uses target/release/tetherd
    TETHERD=path/to/tetherd .venv/bin/python tests/bench/gnmi_bench.py [--quick]

Starts its own tetherd (`--insecure`, loopback, ephemeral port, fresh data directory in a
temporary directory, durable commits as always), drives it with stubs generated at run time
from proto/ by grpc_tools.protoc, and prints a markdown table. Every loop is bounded.
Needs the packages of tests/interop/requirements.txt (grpcio, grpcio-tools, protobuf).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(REPO / "tests"))

from tetherlib import daemon as tetherd_process  # noqa: E402
from tetherlib import paths, stubs  # noqa: E402


class Daemon(tetherd_process.Tetherd):
    """tetherd on ephemeral loopback ports, plaintext, quiet log."""

    def __init__(self, binary: Path, data_dir: Path):
        argv = [str(binary), "--data-dir", str(data_dir), "--listen", "127.0.0.1:0",
                "--netconf-listen", "127.0.0.1:0", "--insecure"]
        super().__init__(argv, data_dir, log_filter="warn,tetherd=info")


# ---- helpers ----------------------------------------------------------------------------------


def gnmi_path(pb, text):
    return paths.path(pb, text)


def pct(xs, p):
    s = sorted(xs)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def ms(x):
    return f"{x * 1e3:.2f} ms"


class Bench:
    def __init__(self, pb, pb_grpc, addr, quick):
        self.pb, self.pb_grpc, self.addr, self.quick = pb, pb_grpc, addr, quick
        self.channel = grpc.insecure_channel(addr)
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = pb_grpc.gNMIStub(self.channel)
        self.rows: list[tuple[str, str, str]] = []

    def n(self, full, quick):
        return quick if self.quick else full

    def path(self, text):
        return gnmi_path(self.pb, text)

    def upd(self, p, value):
        return self.pb.Update(path=self.path(p), val=self.pb.TypedValue(json_ietf_val=json.dumps(value).encode()))

    def set_update(self, p, value, stub=None):
        return (stub or self.stub).Set(self.pb.SetRequest(update=[self.upd(p, value)]), timeout=120)

    def row(self, what, value, note=""):
        self.rows.append((what, value, note))
        print(f"  {what}: {value} {note}", file=sys.stderr, flush=True)

    def timed(self, fn, n):
        out = []
        for i in range(n):
            t = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - t)
        return out

    # -- the measurements --

    def capabilities_and_get(self):
        pb = self.pb
        for _ in range(200):
            self.stub.Capabilities(pb.CapabilityRequest())
        xs = self.timed(lambda i: self.stub.Capabilities(pb.CapabilityRequest(), timeout=10), self.n(3000, 300))
        self.row("Capabilities p50 / p99", f"{ms(pct(xs, 50))} / {ms(pct(xs, 99))}", f"n={len(xs)}")
        req = pb.GetRequest(path=[self.path("/tether-link-state:link-state/groups/group[id=1]/config")],
                            type=pb.GetRequest.CONFIG, encoding=pb.JSON_IETF)
        for _ in range(200):
            self.stub.Get(req)
        xs = self.timed(lambda i: self.stub.Get(req, timeout=10), self.n(3000, 300))
        self.row("small Get p50 / p99", f"{ms(pct(xs, 50))} / {ms(pct(xs, 99))}",
                 f"n={len(xs)}, one group's config container, CONFIG, JSON_IETF")

    def one_leaf_sets(self, label, n, leaf="/tether-link-state:link-state/groups/group[id=1]/config/description"):
        xs = self.timed(lambda i: self.set_update(leaf, f"{label} {i}"), n)
        return xs

    def sets_per_second(self, label, in_flight, seconds, rpc="set"):
        """Sets/s with `in_flight` requests outstanding (grpcio futures from one thread, on one
        HTTP/2 connection; blocking calls for 1), each slot changing its own group's description. rpc="caps" runs the
        same loop with Capabilities: the client's own ceiling."""
        pb = self.pb
        leaves = [f"/tether-link-state:link-state/groups/group[id={k + 1}]/config/description"
                  for k in range(in_flight)]
        seq = [0]

        def submit(k):
            seq[0] += 1
            if rpc == "caps":
                return self.stub.Capabilities.future(pb.CapabilityRequest(), timeout=60)
            return self.stub.Set.future(pb.SetRequest(update=[self.upd(leaves[k], f"{label} {seq[0]}")]),
                                        timeout=60)

        t0 = time.perf_counter()
        stop = t0 + seconds
        if in_flight == 1:  # blocking calls: less client overhead than a future
            done = 0
            while time.perf_counter() < stop:
                if rpc == "caps":
                    self.stub.Capabilities(pb.CapabilityRequest(), timeout=60)
                else:
                    seq[0] += 1
                    self.stub.Set(pb.SetRequest(update=[self.upd(leaves[0], f"{label} {seq[0]}")]), timeout=60)
                done += 1
            return done / (time.perf_counter() - t0), done
        slots = [submit(k) for k in range(in_flight)]
        done = 0
        while any(f is not None for f in slots):
            for k in range(in_flight):
                if slots[k] is None:
                    continue
                slots[k].result()
                done += 1
                slots[k] = submit(k) if time.perf_counter() < stop else None
        elapsed = time.perf_counter() - t0
        return done / elapsed, done

    def load_acl(self, entries):
        acl = {"access-list": [{"name": "Bench", "config": {"name": "Bench"}, "entries": {"entry": [
            {"sequence": i, "config": {"sequence": i, "action": "permit", "protocol": "tcp",
                                       "source-prefix": f"10.{i // 256}.{i % 256}.0/24",
                                       "destination-prefix": "198.19.1.0/24",
                                       "destination-port": str(1024 + i % 60000)}}
            for i in range(1, entries + 1)]}}]}
        t = time.perf_counter()
        self.set_update("/tether-conntrack-bypass:bypass/access-lists", acl)
        return time.perf_counter() - t

    def on_change_latency(self, stubs_dir, subscribers, sets):
        """`subscribers` STREAM ON_CHANGE subscriptions of one leaf, held by a separate process
        (asyncio, so the Set loop here is not slowed by decoding their notifications), and
        `sets` Sets of that leaf, one at a time. Both processes stamp with CLOCK_MONOTONIC
        (time.perf_counter_ns), so receipt times compare with the Set's send/response times."""
        import multiprocessing as mp

        leaf = "/tether-link-state:link-state/groups/group[id=1]/config/description"
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=subscriber_process, args=(str(stubs_dir), self.addr, leaf, subscribers, child))
        proc.start()
        try:
            if not parent.poll(90) or parent.recv() != "synced":
                raise RuntimeError("subscribers did not all get their sync_response")
            sent, answered = [], []
            cpu0 = self.daemon.cpu_s()
            for i in range(sets):
                req = self.pb.SetRequest(update=[self.upd(leaf, f"onchange-bench {i}")])
                t0 = time.perf_counter_ns()
                self.stub.Set(req, timeout=30)
                t1 = time.perf_counter_ns()
                sent.append(t0)
                answered.append(t1)
                time.sleep(0.03)  # let all 100 deliveries finish before the next Set
            self.cpu_per_onchange_set = (self.daemon.cpu_s() - cpu0) / sets
            time.sleep(0.5)
            parent.send("stop")
            if not parent.poll(60):
                raise RuntimeError("subscriber process did not report")
            receipts = parent.recv()
        finally:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
        from_commit, from_resp, from_sent, missing = [], [], [], 0
        for i in range(sets):
            got = receipts.get(i, [])
            missing += subscribers - len(got)
            for t, wall, stamp in got:
                from_commit.append((wall - stamp) / 1e9)
                from_resp.append((t - answered[i]) / 1e9)
                from_sent.append((t - sent[i]) / 1e9)
        set_lat = [(a - s) / 1e9 for s, a in zip(sent, answered)]
        return from_commit, from_resp, from_sent, missing, set_lat

    def idle_streams_rss(self, daemon, streams):
        pb, pb_grpc, addr = self.pb, self.pb_grpc, self.addr
        leaf = "/tether-link-state:link-state/groups/group[id=1]/config"

        async def run():
            await asyncio.sleep(1)
            before = daemon.rss_kib()
            chans = [grpc.aio.insecure_channel(addr, options=[("grpc.use_local_subchannel_pool", 1)])
                     for _ in range(max(1, streams // 100))]
            synced = 0
            done = asyncio.Event()
            calls = []

            async def subscriber(k):
                nonlocal synced
                stub = pb_grpc.gNMIStub(chans[k % len(chans)])
                call = stub.Subscribe(iter([pb.SubscribeRequest(subscribe=pb.SubscriptionList(
                    mode=pb.SubscriptionList.STREAM, encoding=pb.JSON_IETF,
                    subscription=[pb.Subscription(path=self.path(leaf), mode=pb.ON_CHANGE)]))]))
                calls.append(call)
                try:
                    async for r in call:
                        if r.sync_response:
                            synced += 1
                            if synced == streams:
                                done.set()
                except grpc.aio.AioRpcError as e:
                    if e.code() != grpc.StatusCode.CANCELLED:
                        raise

            t0 = time.perf_counter()
            tasks = [asyncio.create_task(subscriber(k)) for k in range(streams)]
            await asyncio.wait_for(done.wait(), 120)
            setup = time.perf_counter() - t0
            await asyncio.sleep(2)
            after = daemon.rss_kib()
            # the daemon still answers promptly with 1,000 streams open
            get_stub = pb_grpc.gNMIStub(chans[0])
            req = pb.GetRequest(path=[self.path(leaf)], type=pb.GetRequest.CONFIG, encoding=pb.JSON_IETF)
            lat = []
            for _ in range(200):
                t = time.perf_counter()
                await get_stub.Get(req, timeout=10)
                lat.append(time.perf_counter() - t)
            # Sets of a leaf none of them watches: each commit still wakes every subscription
            set_lat = []
            cpu0 = daemon.cpu_s()
            for i in range(100):
                t = time.perf_counter()
                await get_stub.Set(pb.SetRequest(update=[self.upd(
                    "/tether-link-state:link-state/groups/group[id=2]/config/description", f"idle {i}")]), timeout=30)
                set_lat.append(time.perf_counter() - t)
            cpu_per_set = (daemon.cpu_s() - cpu0) / 100
            for c in calls:
                c.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in chans:
                await c.close()
            return before, after, setup, lat, synced, set_lat, cpu_per_set

        return asyncio.run(run())


def subscriber_process(stubs_dir, addr, leaf, subscribers, conn):
    """Child process of Bench.on_change_latency: holds the subscriptions, records receipts."""
    sys.path.insert(0, stubs_dir)
    from gnmi import gnmi_pb2 as pb, gnmi_pb2_grpc as pb_grpc  # noqa: PLC0415

    marker = re.compile(rb"onchange-bench (\d+)")

    async def run():
        chans = [grpc.aio.insecure_channel(addr, options=[("grpc.use_local_subchannel_pool", 1)])
                 for _ in range(max(1, subscribers // 50))]
        receipts: dict[int, list[int]] = {}
        synced = 0
        all_synced = asyncio.Event()
        calls = []

        async def subscriber(k):
            nonlocal synced
            stub = pb_grpc.gNMIStub(chans[k % len(chans)])
            req = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
                mode=pb.SubscriptionList.STREAM, encoding=pb.JSON_IETF, updates_only=True,
                subscription=[pb.Subscription(path=gnmi_path(pb, leaf), mode=pb.ON_CHANGE)]))
            call = stub.Subscribe(iter([req]))
            calls.append(call)
            try:
                async for r in call:
                    now, wall = time.perf_counter_ns(), time.time_ns()
                    if r.sync_response:
                        synced += 1
                        if synced == subscribers:
                            all_synced.set()
                        continue
                    for u in r.update.update:
                        m = marker.search(u.val.json_ietf_val)
                        if m:
                            receipts.setdefault(int(m.group(1)), []).append((now, wall, r.update.timestamp))
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    raise

        tasks = [asyncio.create_task(subscriber(k)) for k in range(subscribers)]
        await asyncio.wait_for(all_synced.wait(), 60)
        conn.send("synced")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "stop"
        for c in calls:
            c.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in chans:
            await c.close()
        conn.send(receipts)

    asyncio.run(run())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke test)")
    ap.add_argument("--entries", type=int, default=10_000, help="access-list entries for the loaded store")
    args = ap.parse_args()
    binary = Path(os.environ.get("TETHERD") or REPO / "target/release/tetherd")
    if not binary.is_file():
        sys.exit(f"{binary} not found: cargo build --release -p tetherd")

    with tempfile.TemporaryDirectory(prefix="gnmi-bench-") as tmp:
        (Path(tmp) / "stubs").mkdir()
        pb, pb_grpc = stubs.generate(Path(tmp) / "stubs")
        daemon = Daemon(binary, Path(tmp) / "data")
        try:
            b = Bench(pb, pb_grpc, daemon.addr, args.quick)
            b.daemon = daemon
            print(f"tetherd {binary} pid {daemon.proc.pid} on {daemon.addr}", file=sys.stderr)
            # 8 groups, so that concurrent writers each have a leaf of their own
            b.set_update("/tether-link-state:link-state", {"groups": {"group": [
                {"id": g, "config": {"id": g}} for g in range(1, 9)]}})
            b.capabilities_and_get()

            n_small = b.n(1000, 200)
            cpu0 = daemon.cpu_s()
            empty = b.one_leaf_sets("empty", n_small)
            cpu_empty = (daemon.cpu_s() - cpu0) / n_small
            b.row("one-leaf Set p50 / p99, no access-list entries",
                  f"{ms(pct(empty, 50))} / {ms(pct(empty, 99))}",
                  f"n={n_small}; daemon CPU {cpu_empty * 1e3:.2f} ms per Set")
            secs = b.n(8, 2)
            r1, c1 = b.sets_per_second("seq", 1, secs)
            b.row("Sets/s, 1 in flight, no entries", f"{r1:,.0f}", f"{c1} Sets in {secs} s")
            r8, c8 = b.sets_per_second("par", 8, secs)
            b.row("Sets/s, 8 in flight, no entries", f"{r8:,.0f}", f"{c8} Sets in {secs} s")
            rc1, _ = b.sets_per_second("caps", 1, secs, rpc="caps")
            rc8, _ = b.sets_per_second("caps", 8, secs, rpc="caps")
            b.row("client ceiling: Capabilities/s, 1 / 8 in flight (same loop)", f"{rc1:,.0f} / {rc8:,.0f}",
                  "what this Python client can issue at all")

            entries = args.entries
            load = b.load_acl(entries)
            b.row(f"load {entries:,} access-list entries (one Set)", f"{load:.2f} s")
            rss_loaded = daemon.rss_kib()
            n_big = b.n(10_000, 1_000)
            big = b.one_leaf_sets("loaded", n_big)
            first, last = big[:1000], big[-1000:]
            b.row(f"one-leaf Set p50 / p99, {entries:,} entries stored (link-state leaf)",
                  f"{ms(pct(big, 50))} / {ms(pct(big, 99))}",
                  f"n={n_big}; p50 ratio to empty store {pct(big, 50) / pct(empty, 50):.2f}x")
            b.row(f"p50 of Sets {n_big - 1000:,}-{n_big:,} vs first 1,000",
                  f"{ms(pct(last, 50))} vs {ms(pct(first, 50))}", f"{pct(last, 50) / pct(first, 50):.2f}x")
            acl_leaf = ("/tether-conntrack-bypass:bypass/access-lists/access-list[name=Bench]"
                        f"/entries/entry[sequence={entries // 2}]/config/remark")
            inside = b.timed(lambda i: b.set_update(acl_leaf, f"remark {i}"), b.n(1000, 200))
            b.row(f"one-leaf Set p50 / p99, leaf inside the {entries:,}-entry access-list",
                  f"{ms(pct(inside, 50))} / {ms(pct(inside, 99))}", f"n={len(inside)}")
            r1b, c1b = b.sets_per_second("seq-big", 1, secs)
            r8b, c8b = b.sets_per_second("par-big", 8, secs)
            b.row(f"Sets/s, 1 / 8 in flight, {entries:,} entries", f"{r1b:,.0f} / {r8b:,.0f}")

            subs, nsets = 100, b.n(100, 20)
            from_commit, from_resp, from_sent, missing, set_lat = b.on_change_latency(Path(tmp) / "stubs", subs, nsets)
            b.row(f"ON_CHANGE, commit -> notification received by {subs} subscribers, p50 / p99",
                  f"{ms(pct(from_commit, 50))} / {ms(pct(from_commit, 99))}",
                  f"{nsets} Sets x {subs} subscribers; commit = the notification's timestamp (the commit "
                  "record's time), receipt = the subscriber's wall clock, same host")
            b.row(f"ON_CHANGE, Set response -> notification at {subs} subscribers, p50 / p99",
                  f"{ms(pct(from_resp, 50))} / {ms(pct(from_resp, 99))}",
                  f"{missing} notifications missing")
            b.row("ON_CHANGE, Set sent -> notification, p50 / p99 (upper bound on commit -> delivery)",
                  f"{ms(pct(from_sent, 50))} / {ms(pct(from_sent, 99))}",
                  f"Set round trip itself p50 {ms(pct(set_lat, 50))} / p99 {ms(pct(set_lat, 99))}; "
                  f"daemon CPU {b.cpu_per_onchange_set * 1e3:.2f} ms per Set")

            before, after, setup, lat, synced, idle_set, idle_cpu = b.idle_streams_rss(daemon, 1000)
            b.row("tetherd RSS before / after 1,000 idle STREAM subscriptions",
                  f"{before / 1024:.1f} / {after / 1024:.1f} MiB",
                  f"+{(after - before) / 1024:.1f} MiB; {synced} synced in {setup:.2f} s; "
                  f"Get p50 with them open {ms(pct(lat, 50))}")
            b.row("one-leaf Set p50 / p99 with those 1,000 streams open (unwatched leaf)",
                  f"{ms(pct(idle_set, 50))} / {ms(pct(idle_set, 99))}",
                  f"daemon CPU {idle_cpu * 1e3:.2f} ms per Set")
            b.row("tetherd RSS with the entries loaded (before the Set loops)", f"{rss_loaded / 1024:.1f} MiB")
        finally:
            daemon.stop()

    load1 = os.getloadavg()[0]
    print()
    print(f"gNMI benchmark: tetherd (release) over loopback, Python {platform.python_version()} "
          f"grpcio {grpc.__version__}, {os.cpu_count()} CPUs, load average at the end {load1:.2f}"
          f"{' (--quick)' if args.quick else ''}")
    print()
    print("| measurement | result | notes |")
    print("|---|---:|---|")
    for what, value, note in b.rows:
        print(f"| {what} | {value} | {note} |")


if __name__ == "__main__":
    main()
