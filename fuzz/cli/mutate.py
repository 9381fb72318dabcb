#!/usr/bin/env python3
"""Mutation fuzzing of the stylefilter CLI's file readers, one process per input.

Each seed file is mutated N times (bit flips, overwritten runs, truncation, a chunk
duplicated or deleted, aligned words and decimal numbers replaced by boundary values);
every command template runs on each mutated copy, under a timeout and a resident-memory
watch. A run is fine when its exit status is documented and, when it is nonzero, stdout
is empty, stderr is exactly one non-empty line and no output file was left behind.
Anything else is a finding: its input and a .txt report go to --out-dir.

    nice -n 19 python3 fuzz/cli/mutate.py -n 200 --seed 1 --name models \\
        --cmd '.build/release/stylefilter models inspect {in}' \\
        --cmd '.build/release/stylefilter models inspect --json --all {in}' \\
        Tests/Fixtures/dino_tiny_weights.safetensors Tests/Fixtures/clip_tiny_jit.pt

    nice -n 19 python3 fuzz/cli/mutate.py -n 200 --name images \\
        --cmd '.build/release/stylefilter -i {in} -o {out} copy' samples/*.png

{in} is the mutated file (it keeps the seed's suffix), {out} a path in the same scratch
directory (--out-name) that is removed before each run. The same --seed and arguments
make the same inputs. Exit status 1 (review codes) is listed apart from the other findings;
--quiet-success also counts any stderr output on exit 0. Most mutations aim at the first
and last --hot bytes, where headers and zip directories live.
Standard library only; Linux (pidfd, /proc).
"""
import argparse
import collections
import json
import os
import random
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

INTERESTING = [0, 1, 2, -1, -2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 40) + 7, 1 << 48,
               (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
PAGE = os.sysconf("SC_PAGE_SIZE")


def pick_offset(rng, size, hot):
    """An offset, most often in the first or last `hot` bytes (headers, zip directories)."""
    if hot and size > 2 * hot and rng.random() < 0.8:
        return rng.randrange(hot) if rng.random() < 0.5 else size - 1 - rng.randrange(hot)
    return rng.randrange(size)


def mutate(data, rng, hot):
    """Applies 1-4 random mutations to `data` (a bytearray) in place; returns their descriptions."""
    ops = []
    for _ in range(min(1 + int(rng.expovariate(1.0)), 4)):
        if not data:
            data.extend(rng.randbytes(rng.randint(1, 16)))
            ops.append("fill")
            continue
        kind = rng.choice(["flip", "flip", "run", "truncate", "dup", "delete", "word", "word", "number"])
        at = pick_offset(rng, len(data), hot)
        if kind == "flip":
            spots = [pick_offset(rng, len(data), hot) for _ in range(rng.randint(1, 8))]
            for i in spots:
                data[i] ^= 1 << rng.randrange(8)
            ops.append("flip@" + ",".join(map(str, spots)))
        elif kind == "run":
            n = min(rng.randint(1, 64), len(data) - at)
            fill = rng.choice([b"\x00" * n, b"\xff" * n, rng.randbytes(n)])
            data[at:at + n] = fill
            ops.append("run@%d+%d=%s" % (at, n, fill[:1].hex() if len(set(fill)) == 1 else "rand"))
        elif kind == "truncate":
            del data[at:]
            ops.append("truncate@%d" % at)
        elif kind in ("dup", "delete"):
            n = min(rng.randint(1, 4096), len(data) - at)
            if kind == "dup":
                to = pick_offset(rng, len(data), hot)
                data[to:to] = data[at:at + n]
                ops.append("dup@%d+%d->%d" % (at, n, to))
            else:
                del data[at:at + n]
                ops.append("delete@%d+%d" % (at, n))
        elif kind == "word":
            width = rng.choice([4, 8])
            at -= at % width
            if at + width > len(data):
                continue
            value = rng.choice(INTERESTING)
            order = rng.choice(["little", "big"])
            data[at:at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, order)
            ops.append("word%d@%d=%#x/%s" % (width, at, value, order))
        else:  # a decimal number in a text header (PPM, safetensors JSON, pickled strings)
            lo = max(0, at - 4096)
            digits = [m for m in re.finditer(rb"-?\d+", bytes(data[lo:at + 4096]))]
            if not digits:
                continue
            m = rng.choice(digits)
            text = str(rng.choice(INTERESTING)).encode()
            data[lo + m.start():lo + m.end()] = text
            ops.append("number@%d:%s->%s" % (lo + m.start(), m.group().decode(), text.decode()))
    return ops


def run(argv, timeout, kill_rss):
    """Runs argv; returns (status, stdout, stderr, max RSS in bytes, 'timeout'/'rss'/None)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        pidfd = os.pidfd_open(proc.pid)
        killed, peak, deadline = None, 0, time.monotonic() + timeout
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            while not poller.poll(50):
                try:
                    with open("/proc/%d/statm" % proc.pid) as f:
                        peak = max(peak, int(f.read().split()[1]) * PAGE)
                except (OSError, IndexError, ValueError):
                    pass
                reason = "timeout" if time.monotonic() > deadline else "rss" if peak > kill_rss else None
                if reason and not killed:
                    killed = reason
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            os.close(pidfd)
        out.seek(0)
        err.seek(0)
        return status, out.read(), err.read(), max(peak, usage.ru_maxrss * 1024), killed


def classify(args, status, stdout, stderr, rss, killed, leftovers):
    """The problems of one run (empty: fine), and the codes counted apart for review."""
    problems = []
    if killed == "timeout":
        problems.append("timeout")
    if killed == "rss" or rss > args.max_rss_mb << 20:
        problems.append("rss")
    if os.WIFSIGNALED(status) and not killed:
        problems.append("signal-" + signal.Signals(os.WTERMSIG(status)).name)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if code is not None and code not in args.ok_codes and code not in args.review_codes:
        problems.append("undocumented-exit")
    if code is not None and code in args.review_codes:
        problems.append("review-exit")
    if code == 0 and args.quiet_success and stderr:
        problems.append("stderr-on-success")
    if code != 0:
        lines = stderr.decode("utf-8", "replace").removesuffix("\n").split("\n") if stderr else []
        if len(lines) != 1:
            problems.append("stderr-%d-lines" % len(lines))
        elif not lines[0].strip():
            problems.append("stderr-blank")
        if stdout:
            problems.append("stdout-on-failure")
        if leftovers:
            problems.append("left-output")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seeds", nargs="+", help="seed files")
    ap.add_argument("--cmd", action="append", required=True, help="command template with {in} [and {out}]")
    ap.add_argument("-n", "--iterations", type=int, default=100, help="mutated inputs per seed (100)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (0)")
    ap.add_argument("--name", default="fuzz", help="target name, for the default --out-dir")
    ap.add_argument("--out-dir", help="where findings go (fuzz/findings/cli-NAME)")
    ap.add_argument("--out-name", default="out.png", help="file name behind {out} (out.png)")
    ap.add_argument("--timeout", type=float, default=20, help="seconds per run (20)")
    ap.add_argument("--max-rss-mb", type=int, default=1536, help="peak RSS that counts as a finding (1536)")
    ap.add_argument("--kill-rss-mb", type=int, default=4096, help="peak RSS at which a run is killed (4096)")
    ap.add_argument("--hot", type=int, default=65536, help="bytes at each end most mutations aim at (65536)")
    ap.add_argument("--ok-codes", default="0,64,65,66,73,74,78", help="documented exit codes")
    ap.add_argument("--review-codes", default="1", help="exit codes listed apart, for review (1)")
    ap.add_argument("--quiet-success", action="store_true", help="count stderr output on exit 0 as a finding")
    ap.add_argument("--keep", type=int, default=3, help="inputs kept per distinct finding (3)")
    args = ap.parse_args()
    args.ok_codes = {int(c) for c in args.ok_codes.split(",") if c}
    args.review_codes = {int(c) for c in args.review_codes.split(",") if c}
    out_dir = args.out_dir or os.path.join("fuzz", "findings", "cli-" + args.name)
    os.makedirs(out_dir, exist_ok=True)
    os.nice(19)

    runs = collections.Counter()
    exits = collections.defaultdict(collections.Counter)
    messages = collections.defaultdict(collections.Counter)  # first stderr line of failed runs
    findings = collections.OrderedDict()  # key -> {"count", "examples"}
    started = time.monotonic()
    stopped = None
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
            for seed_path in args.seeds:
                seed = open(seed_path, "rb").read()
                base = os.path.basename(seed_path)
                suffix = base[base.find("."):] if "." in base else ""
                path, out = os.path.join(work, "input" + suffix), os.path.join(work, args.out_name)
                for i in range(args.iterations):
                    rng = random.Random("%d/%s/%d" % (args.seed, base, i))
                    data = bytearray(seed)
                    ops = mutate(data, rng, args.hot)
                    with open(path, "wb") as f:
                        f.write(data)
                    for template in args.cmd:
                        for name in os.listdir(work):
                            if name != os.path.basename(path):
                                os.unlink(os.path.join(work, name))
                        argv = [a.replace("{in}", path).replace("{out}", out) for a in shlex.split(template)]
                        status, stdout, stderr, rss, killed = run(argv, args.timeout, args.kill_rss_mb << 20)
                        leftovers = sorted(set(os.listdir(work)) - {os.path.basename(path)})
                        runs[template] += 1
                        outcome = ("exit %d" % os.WEXITSTATUS(status) if os.WIFEXITED(status)
                                   else "signal %s" % signal.Signals(os.WTERMSIG(status)).name)
                        exits[template][killed or outcome] += 1
                        text = stderr.decode("utf-8", "replace")
                        first = next((l for l in text.split("\n") if l.strip()), "")
                        first = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", first.replace(path, "{in}"))
                        if status:
                            messages[template][first[:160]] += 1
                        problems = classify(args, status, stdout, stderr, rss, killed, leftovers)
                        if not problems:
                            continue
                        key = "%s | %s | %s | %s" % (template, ",".join(problems), outcome, first)
                        entry = findings.setdefault(key, {"count": 0, "examples": []})
                        entry["count"] += 1
                        if len(entry["examples"]) >= args.keep:
                            continue
                        stem = os.path.join(out_dir, "%03d-%s-%s-%d" % (
                            list(findings).index(key), problems[0], base, i))
                        shutil.copyfile(path, stem + suffix)
                        with open(stem + ".txt", "w") as f:
                            f.write("command: %s\n" % shlex.join(
                                [a.replace(path, stem + suffix) for a in argv]))
                            f.write("seed: %s  iteration: %d  --seed %d\nmutations: %s\n" % (
                                seed_path, i, args.seed, " ".join(ops)))
                            f.write("outcome: %s  problems: %s\nmax RSS: %.1f MB  leftovers: %s\n" % (
                                killed or outcome, ",".join(problems), rss / 2**20, leftovers))
                            f.write("stdout (%d bytes): %r\nstderr (last 4000 chars):\n%s\n" % (
                                len(stdout), stdout[:200], text[-4000:]))
                        entry["examples"].append(stem + suffix)
                        print("finding: %s  (%s)" % (key, stem + suffix), flush=True)
                    total = sum(runs.values())
                    if (i + 1) % 50 == 0:
                        print("%s: %d/%d, %d runs, %.0f s" % (base, i + 1, args.iterations, total,
                                                               time.monotonic() - started), flush=True)
    except (OSError, KeyboardInterrupt) as error:  # e.g. the binary replaced by a rebuild mid-run
        stopped = "%s: %s" % (type(error).__name__, error)
        print("stopped early: " + stopped, flush=True)

    summary = {"runs": dict(runs), "exits": {t: dict(c) for t, c in exits.items()},
               "messages": {t: dict(c.most_common()) for t, c in messages.items()},
               "seconds": round(time.monotonic() - started), "stopped": stopped, "findings": findings}
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("\n== %d runs in %d s; findings in %s" % (sum(runs.values()), summary["seconds"], out_dir))
    for template in args.cmd:
        hist = ", ".join("%s: %d" % kv for kv in sorted(exits[template].items()))
        print("%s\n  %d runs; %s" % (template, runs[template], hist))
        for message, count in messages[template].most_common(8):
            print("  %6d  %s" % (count, message))
    for review in (False, True):
        chosen = [(k, v) for k, v in findings.items() if (k.split(" | ")[1] == "review-exit") == review]
        print("\n%s: %s" % ("review (exit %s)" % sorted(args.review_codes) if review else "findings",
                             "none" if not chosen else len(chosen)))
        for key, entry in chosen:
            print("  %dx %s\n     e.g. %s" % (entry["count"], key, entry["examples"][0]))
    return 1 if stopped or any(k.split(" | ")[1] != "review-exit" for k in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
