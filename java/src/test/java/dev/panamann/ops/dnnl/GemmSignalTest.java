package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * oneDNN 2.x's generated sgemm kernels point the stack pointer into the heap while they run, so
 * a signal delivered to the thread then (a profiler's sample, any handler) writes its frame into
 * the heap and corrupts it (oneDNN issue 4845, fixed in 3.11): the process aborts later, in
 * {@code free}. The backend holds the calling thread's signals for each call and makes its
 * OpenMP team with them held (the team's threads keep that mask). Here a thread runs the
 * products on oneDNN while another sends it (and its team) signals with a handler installed,
 * thousands of times: without the held signals this JVM aborts or hangs (one thread: in every
 * run here; the team's thread, a weaker check: in 1 of 6 runs), or the results differ. The same
 * for oneDNN's gemm-based convolution primitives (without their held signals: an abort in 3 of 3
 * runs).
 */
class GemmSignalTest {
    private static final int SIGWINCH = 28; // x86-64 Linux; the JVM leaves it alone
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), d);
    }

    @Test
    void productsOnOneDnnSurviveSignalsSentDuringThem() throws Throwable {
        assertProductsSurviveSignals(1, 400, 3);
    }

    /**
     * Products on two threads: the caller holds its signals, and the other thread of its OpenMP
     * team (a native thread) never takes one. Both get signals here.
     */
    @Test
    void productsOnATeamSurviveSignalsSentToItsThreads() throws Throwable {
        assertTrue(128L * 300 * 3072 >= NativeOps.ONE_THREAD_MACS, "a product the team runs");
        assertProductsSurviveSignals(2, 800, 5);
    }

    /**
     * oneDNN's gemm-based convolutions (what it picks for the plain NCHW / OIHW layouts,
     * {@code -Dpanamann.dnnl.convLayout=plain}) run the same sgemm kernels inside the primitive:
     * the backend holds the signals for those primitives too. Forward, backward weights and
     * backward data on one thread, under signals: the same results as without.
     */
    @Test
    void gemmBasedConvolutionsSurviveSignalsSentDuringThem() throws Throwable {
        ConvGeometry g = ConvGeometry.of(new int[] {16, 3, 32, 32}, new int[] {32, 3, 7, 7}, 1, 3);
        Rng rng = new Rng(7);
        try (NativeOps ops = new NativeOps(1, "onednn"); Tensor x = Tensor.randn(rng, 1f, g.inputShape());
             Tensor w = Tensor.randn(rng, 0.1f, g.weightShape()); Tensor b = Tensor.randn(rng, 0.1f, g.f());
             Tensor dout = Tensor.randn(rng, 1f, g.outputShape()); DnnlConv2dOp op = plainLayoutOp(ops, g)) {
            for (String impl : op.implementations()) assertTrue(impl.contains("gemm"), "not a gemm-based convolution: " + impl);
            float[][] quiet = convolutions(op, x, w, b, dout, 3);
            float[][][] loud = new float[1][][];
            underSignals(false, () -> loud[0] = convolutions(op, x, w, b, dout, 150));
            String[] names = {"y", "dx", "dW", "db"};
            for (int i = 0; i < names.length; i++) assertArrayEquals(quiet[i], loud[0][i], names[i] + " of the convolutions that took signals");
        }
    }

    /** A convolution planned with {@code panamann.dnnl.convLayout=plain} (the property restored after). */
    private static DnnlConv2dOp plainLayoutOp(NativeOps ops, ConvGeometry g) {
        String key = "panamann.dnnl.convLayout", before = System.getProperty(key);
        System.setProperty(key, "plain");
        try {
            return new DnnlConv2dOp(ops, g);
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }

    /** {@code calls} forward and backward calls; the last one's y, dx, dW and db. */
    private static float[][] convolutions(DnnlConv2dOp op, Tensor x, Tensor w, Tensor b, Tensor dout, int calls) {
        ConvGeometry g = op.geometry();
        try (Tensor y = Tensor.zeros(g.outputShape()); Tensor dx = Tensor.zeros(g.inputShape()); Tensor dw = Tensor.zeros(g.weightShape());
             Tensor db = Tensor.zeros(g.f())) {
            for (int c = 0; c < calls; c++) {
                op.forward(x, w, b, y);
                op.backward(x, w, dout, dx, dw, db);
            }
            return new float[][] {y.toArray(), dx.toArray(), dw.toArray(), db.toArray()};
        }
    }

    /**
     * The mask itself: after a product on two threads, the caller's OpenMP team thread blocks
     * every asynchronous signal (SIGINT, SIGTERM, SIGWINCH, SIGPROF) but not SIGSEGV, and the
     * caller blocks none of those again (its held signals were released). Also with
     * {@code -Dpanamann.flushDenormals=false}, where the team is made without an environment.
     */
    @Test
    void theTeamsThreadsBlockAsynchronousSignalsAndTheCallerNone() throws Throwable {
        MethodHandle gettid = fn("gettid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
        String name = "team mask probe"; // 15 characters: the whole of a thread's comm
        long[][] masks = new long[2][];
        Throwable[] failure = {null};
        Thread probe = new Thread(() -> {
            // OpenBLAS's product: not itself under held signals, so the team has its mask from beforeNativeCall
            try (NativeOps ops = new NativeOps(2, "openblas"); Tensor a = Tensor.zeros(128, 3072); Tensor b = Tensor.zeros(3072, 300);
                 Tensor c = Tensor.zeros(128, 300)) {
                ops.gemm(false, false, 128, 300, 3072, 1f, a, b, 0f, c);
                int self = (int) gettid.invokeExact();
                for (int tid : threadsNamed(name)) {
                    long mask = Long.parseUnsignedLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/task/" + tid + "/status"))
                            .stream().filter(l -> l.startsWith("SigBlk:")).findFirst().orElseThrow().substring(7).trim(), 16);
                    if (tid == self) masks[0] = new long[] {mask};
                    else masks[1] = new long[] {mask};
                }
            } catch (Throwable t) {
                failure[0] = t;
            }
        }, name);
        probe.start();
        probe.join();
        if (failure[0] != null) throw failure[0];
        long sigint = 1L << 1, sigsegv = 1L << 10, sigterm = 1L << 14, sigprof = 1L << 26, sigwinch = 1L << (SIGWINCH - 1);
        long async = sigint | sigterm | sigprof | sigwinch;
        assertTrue(masks[1] != null, "no OpenMP team thread named '" + name + "' was found");
        assertEquals(async, masks[1][0] & async, "team thread's blocked signals: " + Long.toHexString(masks[1][0]));
        assertEquals(0, masks[1][0] & sigsegv, "the team thread blocks SIGSEGV");
        assertEquals(0, masks[0][0] & async, "the caller's blocked signals after the call: " + Long.toHexString(masks[0][0]));
    }

    /**
     * {@code calls} products 128 x 300 x 3072 on a backend of {@code threads} threads, without
     * and with signals (sent to the calling thread, and with two threads to its team as well):
     * the same results.
     */
    private static void assertProductsSurviveSignals(int threads, int calls, long seed) throws Throwable {
        int m = 128, n = 300, k = 3072;
        Rng rng = new Rng(seed);
        try (NativeOps ops = new NativeOps(threads, "onednn"); Tensor a = Tensor.randn(rng, 1f, m, k); Tensor b = Tensor.randn(rng, 1f, k, n);
             Tensor quiet = Tensor.zeros(m, n); Tensor loud = Tensor.zeros(m, n)) {
            for (int c = 0; c < calls; c++) ops.gemm(false, false, m, n, k, -0.01f, a.segment(), k, b.segment(), n, 0.5f, quiet.segment(), n);
            underSignals(threads > 1, () -> {
                for (int c = 0; c < calls; c++) ops.gemm(false, false, m, n, k, -0.01f, a.segment(), k, b.segment(), n, 0.5f, loud.segment(), n);
            });
            assertArrayEquals(quiet.toArray(), loud.toArray(), "the products that took signals");
        }
    }

    /**
     * Runs {@code work} on a new thread while this one sends it SIGWINCH, with a handler
     * installed, every 50 microseconds ({@code team}: to its OpenMP team's threads too); then
     * mallocs and frees at many sizes (a corrupted heap aborts there at the latest).
     */
    private static void underSignals(boolean team, ThrowingRunnable work) throws Throwable {
        MethodHandle sigaction = fn("sigaction", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS));
        MethodHandle pthreadSelf = fn("pthread_self", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        MethodHandle pthreadKill = fn("pthread_kill", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        MethodHandle tgkill = fn("tgkill", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle gettid = fn("gettid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
        int pid = (int) ProcessHandle.current().pid();
        int self = (int) gettid.invokeExact();
        try (Arena arena = Arena.ofConfined()) {
            // struct sigaction (x86-64 glibc): handler, 128-byte mask, flags, restorer; the handler
            // is getpid, harmless on any thread: what matters is the frame the kernel pushes
            MemorySegment act = arena.allocate(152, 8), old = arena.allocate(152, 8);
            act.set(ValueLayout.ADDRESS, 0, LIBC.find("getpid").orElseThrow());
            act.set(ValueLayout.JAVA_INT, 136, 0x10000000); // SA_RESTART
            assertEquals(0, (int) sigaction.invokeExact(SIGWINCH, act, old));
            AtomicLong target = new AtomicLong();
            long sent = 0;
            Throwable[] failure = {null};
            Thread worker = new Thread(() -> {
                try {
                    target.set((long) pthreadSelf.invokeExact());
                    work.run();
                } catch (Throwable t) {
                    failure[0] = t;
                }
            }, "native calls under signals");
            try {
                worker.start();
                while (target.get() == 0 && worker.isAlive()) Thread.onSpinWait();
                int[] tids = {};
                for (int round = 0; worker.isAlive(); round++) {
                    if (team) {
                        if (round % 50 == 0) tids = threadsNamed("native calls under signals".substring(0, 15));
                        for (int tid : tids) {
                            if (tid != self && (int) tgkill.invokeExact(pid, tid, SIGWINCH) == 0) sent++;
                        }
                    } else if ((int) pthreadKill.invokeExact(target.get(), SIGWINCH) == 0) {
                        sent++;
                    }
                    long until = System.nanoTime() + 50_000;
                    while (System.nanoTime() < until) Thread.onSpinWait();
                }
                worker.join();
            } finally {
                int rc = (int) sigaction.invokeExact(SIGWINCH, old, MemorySegment.NULL);
                assertEquals(0, rc);
            }
            if (failure[0] != null) throw failure[0];
            assertTrue(sent > 1000, "only " + sent + " signals were sent: nothing was checked");
            for (int i = 0; i < 2000; i++) {
                try (Arena churn = Arena.ofConfined()) {
                    churn.allocate(16 + 24L * (i % 300));
                    churn.allocate(4096L + i);
                }
            }
        }
    }

    /**
     * The ids of this process's threads whose name is {@code comm}: a thread and the OpenMP team
     * it made (native threads take their creator's name).
     */
    private static int[] threadsNamed(String comm) throws java.io.IOException {
        try (var list = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            return list.filter(p -> {
                try {
                    return java.nio.file.Files.readString(p.resolve("comm")).strip().equals(comm);
                } catch (java.io.IOException e) {
                    return false; // the thread ended
                }
            }).mapToInt(p -> Integer.parseInt(p.getFileName().toString())).toArray();
        }
    }

    private interface ThrowingRunnable {
        void run() throws Throwable;
    }
}
