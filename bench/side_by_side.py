#!/usr/bin/env python3
"""Side-by-side whole-run benchmark: panama-nn against PyTorch CPU and DJL, round-robin.

Each system runs the same cases (see dev.panamann.bench.SideBySide) in its own process; every
round starts one process per system, in an order rotated each round, and the tables report
the median images/s over the rounds and the ratios of panama-nn to the best PyTorch variant
and to DJL. Normally started by bench/side-by-side.sh, which builds the workers first.
Only the Python standard library is needed here; the PyTorch worker runs on --torch-python.
"""
import argparse
import ctypes
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = ["convnet-adam-64", "convnet-adam-256", "convnet-sgdm-64", "convnet-sgdm-256",
         "convnet-infer-256", "twolayer-64", "twolayer-256", "fcbn-200"]
TORCH_SYSTEMS = ["torch-nchw", "torch-cl", "torch-cl-jemalloc", "torch-cl-tcmalloc"]
ALL_SYSTEMS = ["panama-nn"] + TORCH_SYSTEMS + ["djl", "java-vector", "java-scalar"]
DEFAULT_SYSTEMS = ["panama-nn"] + TORCH_SYSTEMS + ["djl"]
ALLOCATORS = {
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
}
ONEDNN_ISA = {0x0: "all", 0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0xf: "avx512_mic", 0x1f: "avx512_mic_4ops",
              0x27: "avx512_core", 0x67: "avx512_core_vnni", 0xe7: "avx512_core_bf16", 0x3e7: "avx512_core_amx",
              0x407: "avx2_vnni"}


def log(msg):
    print(msg, flush=True)


def extract_data(archive, work):
    """The cifar-10-batches-bin folder, extracted from the archive into `work` once."""
    if os.path.isdir(archive):
        return archive
    folder = os.path.join(work, "cifar-10-batches-bin")
    if not os.path.isfile(os.path.join(folder, "data_batch_5.bin")):
        os.makedirs(work, exist_ok=True)
        log("extracting %s into %s" % (archive, work))
        with tarfile.open(archive) as t:
            t.extractall(work, members=[m for m in t.getmembers() if m.name.startswith("cifar-10-batches-bin/")])
    return folder


def machine():
    """CPU model, AVX flags, cores, OpenBLAS core and oneDNN ISA as installed (no variables set)."""
    info = {"cpu": platform.processor() or "?", "flags": "", "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and info["cpu"] in ("?", "", "x86_64"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    fl = line.split(":", 1)[1].split()
                    info["flags"] = " ".join(x for x in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if x in fl)
                    break
    except OSError:
        pass
    info["blas"] = probe(["-c", "import ctypes; b=ctypes.CDLL('libopenblas.so.0'); b.openblas_get_corename.restype=ctypes.c_char_p;"
                          "print(b.openblas_get_corename().decode())"])
    isa = probe(["-c", "import ctypes; print(ctypes.CDLL('libdnnl.so.2').dnnl_get_effective_cpu_isa())"])
    try:
        info["isa"] = ONEDNN_ISA.get(int(isa), hex(int(isa)))
    except ValueError:
        info["isa"] = isa
    return info


def probe(args):
    """Runs a snippet in a fresh interpreter (so loading a library here changes nothing for the runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "DNNL_", "ONEDNN_"))}
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # a value the machine sets is part of "as installed"
        if k in os.environ:
            env[k] = os.environ[k]
    try:
        return subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=60, env=env).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def torch_ok(python):
    try:
        return subprocess.run([python, "-c", "import torch"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def command(system, a, data):
    """(argv, extra environment, cases) of one worker process, or None when the system is not installed."""
    common = ["--data", data, "--images", str(a.images), "--warmup", str(a.warmup), "--epochs", str(a.epochs)]
    java = os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java")
    if system == "panama-nn" or system.startswith("java-"):
        jar = os.path.join(ROOT, "bench", "target", "panama-nn-bench.jar")
        if not os.path.isfile(jar):
            return None
        argv = [java, "--enable-native-access=ALL-UNNAMED", "-Xmx4g", "-Dpanamann.threads=%d" % a.threads]
        cases = a.cases
        if system == "panama-nn":
            argv += ["--add-modules", "jdk.incubator.vector"]  # as samples/train-cifar10.sh runs it
        if system.startswith("java-"):
            argv += ["-Dpanamann.backend=java"]
            if system == "java-vector":
                argv += ["--add-modules", "jdk.incubator.vector", "-Dpanamann.java.vector=on"]
            else:
                argv += ["-Dpanamann.java.vector=off"]
            cases = [c for c in a.cases if c in a.java_cases]
            common = ["--data", data, "--images", str(min(a.images, a.java_images)), "--warmup", str(min(a.warmup, 3)),
                      "--epochs", "1"]
        return argv + ["-cp", jar, "dev.panamann.bench.SideBySide", "--cases", ",".join(cases)] + common, {}, cases
    if system.startswith("torch-"):
        if not a.have_torch:
            return None
        env = {"OMP_NUM_THREADS": str(a.threads)}
        layout = "nchw" if system == "torch-nchw" else "channels_last"
        for name, lib in ALLOCATORS.items():
            if system.endswith(name):
                if not os.path.isfile(lib):
                    return None
                env["LD_PRELOAD"] = lib
        argv = [a.torch_python, os.path.join(HERE, "side_by_side_torch.py"), "--threads", str(a.threads), "--layout", layout,
                "--cases", ",".join(a.cases)]
        return argv + common, env, a.cases
    if system == "djl":
        cp_file = os.path.join(HERE, "djl", "target", "classpath.txt")
        classes = os.path.join(HERE, "djl", "target", "classes")
        if not os.path.isfile(cp_file):
            return None
        with open(cp_file) as f:
            cp = classes + os.pathsep + f.read().strip()
        cache = os.path.join(a.work, "djl-cache")
        argv = [java, "--enable-native-access=ALL-UNNAMED", "-Xmx4g", "-Dai.djl.offline=true", "-DDJL_CACHE_DIR=" + cache,
                "-DENGINE_CACHE_DIR=" + cache, "-Dai.djl.pytorch.num_threads=%d" % a.threads,
                "-Dai.djl.pytorch.num_interop_threads=1", "-cp", cp, "dev.panamann.bench.djl.DjlSideBySide",
                "--cases", ",".join(a.cases)]
        return argv + common, {"OMP_NUM_THREADS": str(a.threads)}, a.cases
    raise ValueError(system)


def run_one(system, spec, logf):
    argv, extra, _ = spec
    env = dict(os.environ)
    env.update(extra)
    t0 = time.time()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    logf.write("=== %s (%.0f s, exit %d)\n$ %s\n%s%s\n" % (system, time.time() - t0, p.returncode, " ".join(argv), p.stdout, p.stderr))
    logf.flush()
    results, info = {}, []
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["RESULT"] and len(parts) >= 3:
            results[parts[1]] = float(parts[2])
        elif parts[:1] == ["INFO"]:
            info.append(line[5:])
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        log("  %s failed (exit %d): %s" % (system, p.returncode, " | ".join(tail)))
    return results, info


def fmt(v):
    return "-" if v is None else ("%.0f" % v)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cifar10", "cifar-10-binary.tar.gz"),
                   help="cifar-10-binary.tar.gz or an extracted cifar-10-batches-bin folder")
    p.add_argument("--work", default=os.path.join(ROOT, "bench", "target", "side-by-side"), help="build folder for data and logs")
    p.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS), help="some of " + ",".join(ALL_SYSTEMS))
    p.add_argument("--cases", default=",".join(CASES), help="some of " + ",".join(CASES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--images", type=int, default=10000, help="training images per case (one epoch = images / batch steps)")
    p.add_argument("--warmup", type=int, default=100,
                   help="untimed steps before the timed epochs (enough for the JVM's compilers to finish)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--java-cases", default="convnet-adam-64,convnet-sgdm-64", help="cases of the pure-Java systems")
    p.add_argument("--java-images", type=int, default=2048, help="images per case of the pure-Java systems (at most --images)")
    p.add_argument("--torch-python", default="/usr/bin/python3", help="python with torch (Debian's python3-torch)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round, 512 images, 2 warm-up steps")
    a = p.parse_args()
    if a.quick:
        a.rounds, a.images, a.warmup, a.epochs, a.java_images = 1, 512, 2, 1, 512
    a.cases = a.cases.split(",")
    a.java_cases = a.java_cases.split(",")
    systems = a.systems.split(",")
    for s in systems:
        if s not in ALL_SYSTEMS:
            sys.exit("unknown system %r: use some of %s" % (s, ", ".join(ALL_SYSTEMS)))
    for c in a.cases:
        if c not in CASES:
            sys.exit("unknown case %r: use some of %s" % (c, ", ".join(CASES)))
    if a.rounds < 1 or a.images < 256 or a.epochs < 1 or a.warmup < 0:
        sys.exit("need --rounds >= 1, --images >= 256 (the largest batch), --epochs >= 1, --warmup >= 0")
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    data = extract_data(a.data, a.work)
    a.have_torch = any(s.startswith("torch-") for s in systems) and torch_ok(a.torch_python)
    specs = {}
    for s in systems:
        spec = command(s, a, data)
        if spec is None:
            log("skipping %s: not installed (see bench/README.md)" % s)
        else:
            specs[s] = spec
    if not specs:
        sys.exit("nothing to run")
    m = machine()
    load0 = os.getloadavg()
    log("machine: %s, %s cores, flags: %s; OpenBLAS core %s, oneDNN ISA %s" % (m["cpu"], m["cores"], m["flags"], m["blas"], m["isa"]))
    log("settings: %d rounds, %d images per case, %d warm-up steps, %d epoch(s), %d threads, float32; load average at start %.1f"
        % (a.rounds, a.images, a.warmup, a.epochs, a.threads, load0[0]))
    names = list(specs)
    runs = {s: {c: [] for c in CASES} for s in names}
    infos = {}
    t0 = time.time()
    with open(os.path.join(a.work, "side-by-side.log"), "w") as logf:
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for s in order:
                log("round %d/%d: %s" % (r + 1, a.rounds, s))
                res, info = run_one(s, specs[s], logf)
                infos.setdefault(s, info)
                for c, v in res.items():
                    runs[s][c].append(v)
    load1 = os.getloadavg()
    med = {s: {c: (statistics.median(v) if v else None) for c, v in runs[s].items()} for s in names}
    log("")
    log("## Side by side: images/s, median of %d rounds" % a.rounds)
    log("")
    log("%s; OpenBLAS core `%s`, oneDNN ISA `%s`; %d threads, float32; %d images per case "
        "(%d warm-up steps, then %d epoch(s)); %.0f s in all; load average %.1f at the start, %.1f at the end."
        % (m["cpu"] + (" (" + m["flags"] + ")" if m["flags"] else ""), m["blas"], m["isa"], a.threads, a.images, a.warmup,
           a.epochs, time.time() - t0, load0[0], load1[0]))
    log("")
    for s in names:
        if infos.get(s):
            log("- %s: %s" % (s, "; ".join(infos[s])))
    log("")
    log("| case | " + " | ".join(names) + " |")
    log("|---" * (len(names) + 1) + "|")
    for c in a.cases:
        log("| %s | %s |" % (c, " | ".join(fmt(med[s][c]) for s in names)))
    if "panama-nn" in names:
        torch_names = [s for s in names if s.startswith("torch-")]
        log("")
        log("| case | panama-nn / best PyTorch | best PyTorch | panama-nn / DJL |")
        log("|---|---|---|---|")
        for c in a.cases:
            pn = med["panama-nn"][c]
            best = max(((med[s][c], s) for s in torch_names if med[s][c]), default=(None, None))
            dj = med["djl"][c] if "djl" in names else None
            r1 = "%.2fx" % (pn / best[0]) if pn and best[0] else "-"
            r2 = "%.2fx" % (pn / dj) if pn and dj else "-"
            log("| %s | %s | %s | %s |" % (c, r1, best[1] or "-", r2))
    log("")
    log("every round's figures: " + "; ".join("%s %s %s" % (s, c, "/".join(fmt(v) for v in runs[s][c]))
                                              for s in names for c in a.cases if runs[s][c]))
    log("worker output: %s" % os.path.join(a.work, "side-by-side.log"))
    missing = [(s, c) for s in names for c in specs[s][2] if not runs[s][c]]
    if missing:
        log("no result for: " + ", ".join("%s %s" % sc for sc in missing))
        sys.exit(1)


if __name__ == "__main__":
    main()
