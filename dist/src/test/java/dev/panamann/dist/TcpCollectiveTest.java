package dev.panamann.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.dist.TcpCollective.Algorithm;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The TCP collective with 1-8 ranks in threads of one JVM, over loopback. */
class TcpCollectiveTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Per-rank work on a connected collective. */
    interface Work<T> {
        T run(TcpCollective c) throws Exception;
    }

    /** Connects w ranks in w threads, runs work on each, returns each rank's result or exception. */
    static <T> List<Object> run(int w, Algorithm alg, Duration timeout, Work<T> work) throws Exception {
        List<TcpCollective.Listener> ls = new ArrayList<>();
        List<String> addrs = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            ls.add(TcpCollective.listen("127.0.0.1"));
            addrs.add(ls.get(r).address());
        }
        ExecutorService pool = Executors.newFixedThreadPool(w);
        try {
            List<Future<Object>> fs = new ArrayList<>();
            for (int r = 0; r < w; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (TcpCollective c = ls.get(rank).connect(rank, addrs, 42L, timeout, alg)) {
                        return work.run(c);
                    } catch (Exception e) {
                        return e;
                    }
                }));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : fs) out.add(f.get(120, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Rank r's value i: a small integer, so that every sum is exact in float. */
    private static float value(int r, long i) {
        return (float) ((i * 7 + r * 13) % 101 - 50);
    }

    @Test
    void allReduceSumsExactlyForTwoToEightRanksAndUnevenSizes() throws Exception {
        long[] sizes = {0, 1, 3, 7, 1000, 100_003};
        for (Algorithm alg : new Algorithm[] {Algorithm.RING, Algorithm.HALVING_DOUBLING}) {
            for (int w = 1; w <= 8; w++) {
                int ranks = w;
                List<Object> res = run(w, alg, Duration.ofSeconds(20), c -> {
                    List<float[]> got = new ArrayList<>();
                    try (Arena a = Arena.ofConfined()) {
                        for (long n : sizes) {
                            for (boolean mean : new boolean[] {false, true}) {
                                MemorySegment s = a.allocate(n * 4, 64);
                                for (long i = 0; i < n; i++) s.setAtIndex(F, i, value(c.rank(), i));
                                if (mean) c.allReduceMean(s);
                                else c.allReduceSum(s);
                                got.add(s.toArray(ValueLayout.JAVA_FLOAT));
                            }
                        }
                    }
                    return got;
                });
                for (int r = 0; r < w; r++) {
                    if (res.get(r) instanceof Exception e) throw new AssertionError(alg + " w=" + w + " rank " + r, e);
                    @SuppressWarnings("unchecked")
                    List<float[]> got = (List<float[]>) res.get(r);
                    int k = 0;
                    for (long n : sizes) {
                        float[] sum = new float[(int) n], mean = new float[(int) n];
                        for (int i = 0; i < n; i++) {
                            float s = 0;
                            for (int q = 0; q < ranks; q++) s += value(q, i);
                            sum[i] = s;
                            mean[i] = s / ranks;
                        }
                        assertArrayEquals(sum, got.get(k++), alg + " w=" + w + " rank " + r + " n=" + n + " sum");
                        assertArrayEquals(mean, got.get(k++), alg + " w=" + w + " rank " + r + " n=" + n + " mean");
                    }
                }
            }
        }
    }

    @Test
    void meanOfRandomFloatsIsBitIdenticalOnEveryRank() throws Exception {
        for (Algorithm alg : new Algorithm[] {Algorithm.RING, Algorithm.HALVING_DOUBLING}) {
            int n = 50_001;
            List<Object> res = run(5, alg, Duration.ofSeconds(20), c -> {
                java.util.Random rnd = new java.util.Random(c.rank());
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate((long) n * 4, 64);
                    for (int i = 0; i < n; i++) s.setAtIndex(F, i, (float) rnd.nextGaussian());
                    c.allReduceMean(s);
                    return s.toArray(ValueLayout.JAVA_FLOAT);
                }
            });
            float[] first = (float[]) res.get(0);
            for (int r = 1; r < 5; r++) assertArrayEquals(first, (float[]) res.get(r), alg + " rank " + r);
            // and within float rounding of the true mean
            float[][] v = new float[5][n];
            for (int q = 0; q < 5; q++) {
                java.util.Random rnd = new java.util.Random(q);
                for (int i = 0; i < n; i++) v[q][i] = (float) rnd.nextGaussian();
            }
            double worst = 0;
            for (int i = 0; i < n; i++) {
                double m = 0;
                for (int q = 0; q < 5; q++) m += v[q][i];
                worst = Math.max(worst, Math.abs(m / 5 - first[i]));
            }
            assertTrue(worst < 1e-6, "mean off by " + worst);
        }
    }

    @Test
    void broadcastFromEveryRootAndBarrier() throws Exception {
        for (int w : new int[] {1, 2, 3, 6}) {
            int ranks = w;
            List<Object> res = run(w, Algorithm.AUTO, Duration.ofSeconds(20), c -> {
                List<byte[]> got = new ArrayList<>();
                try (Arena a = Arena.ofConfined()) {
                    for (int root = 0; root < ranks; root++) {
                        MemorySegment s = a.allocate(1001);
                        for (int i = 0; i < 1001; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (c.rank() * 31 + i));
                        c.broadcast(s, root);
                        c.barrier();
                        got.add(s.toArray(ValueLayout.JAVA_BYTE));
                    }
                }
                return got;
            });
            for (int r = 0; r < w; r++) {
                if (res.get(r) instanceof Exception e) throw new AssertionError("w=" + w + " rank " + r, e);
                @SuppressWarnings("unchecked")
                List<byte[]> got = (List<byte[]>) res.get(r);
                for (int root = 0; root < w; root++) {
                    byte[] want = new byte[1001];
                    for (int i = 0; i < 1001; i++) want[i] = (byte) (root * 31 + i);
                    assertArrayEquals(want, got.get(root), "w=" + w + " rank " + r + " root " + root);
                }
            }
        }
    }

    @Test
    void aPeerKilledMidAllReduceFailsEveryOtherRankFast() throws Exception {
        for (Algorithm alg : new Algorithm[] {Algorithm.RING, Algorithm.HALVING_DOUBLING}) {
            long t0 = System.nanoTime();
            List<Object> res = run(5, alg, Duration.ofSeconds(30), c -> {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate(4L * 200_000, 64);
                    c.allReduceMean(s); // one good round first
                    if (c.rank() == 2) {
                        Thread.sleep(300); // the others are now inside the second all-reduce
                        c.close();         // and this rank dies
                        return "killed";
                    }
                    c.allReduceMean(s);
                    return "finished";
                }
            });
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals("killed", res.get(2));
            for (int r : new int[] {0, 1, 3, 4}) {
                CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(r), alg + " rank " + r);
                assertTrue(e.getMessage().contains("allReduceMean"), e.getMessage());
            }
            assertTrue(seconds < 10, alg + ": the others took " + seconds + " s to fail; the timeout is 30 s");
        }
    }

    @Test
    void aHangingPeerFailsEveryOtherRankWithinTheTimeout() throws Exception {
        List<Object> res = run(4, Algorithm.RING, Duration.ofMillis(1000), c -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(4L * 100_000, 64);
                if (c.rank() == 1) {
                    Thread.sleep(4000); // never joins; its connections stay open
                    return "hung";
                }
                long t0 = System.nanoTime();
                try {
                    c.allReduceMean(s);
                } catch (CollectiveException e) {
                    return new Object[] {e, (System.nanoTime() - t0) / 1e9};
                }
                return "finished";
            }
        });
        assertEquals("hung", res.get(1));
        for (int r : new int[] {0, 2, 3}) {
            Object[] f = assertInstanceOf(Object[].class, res.get(r), "rank " + r + " did not fail");
            CollectiveException e = (CollectiveException) f[0];
            double took = (double) f[1];
            assertTrue(e.getMessage().contains("rank"), e.getMessage());
            // a neighbour of the hanging rank times out after 1 s; the others follow when it closes
            assertTrue(took < 3.0, "rank " + r + " failed after " + took + " s with a 1 s timeout: " + e.getMessage());
        }
    }

    @Test
    void failuresAreFastAndNamed() throws Exception {
        long t0 = System.nanoTime();
        List<Object> res = run(3, Algorithm.RING, Duration.ofMillis(800), c -> {
            if (c.rank() == 0) return "idle";
            long s = System.nanoTime();
            try (Arena a = Arena.ofConfined()) {
                c.allReduceSum(a.allocate(400));
            } catch (CollectiveException e) {
                return (System.nanoTime() - s) / 1e9;
            }
            return "finished";
        });
        for (int r = 1; r < 3; r++) {
            double took = assertInstanceOf(Double.class, res.get(r), "rank " + r);
            assertTrue(took < 5, "rank " + r + " failed after " + took + " s with an 0.8 s timeout");
        }
        assertTrue((System.nanoTime() - t0) / 1e9 < 20);
    }

    @Test
    void misuseThrowsJavaExceptions() throws Exception {
        List<Object> res = run(2, Algorithm.AUTO, Duration.ofSeconds(10), c -> {
            try (Arena a = Arena.ofConfined()) {
                assertThrows(IllegalArgumentException.class, () -> c.allReduceSum(a.allocate(6)));
                assertThrows(IllegalArgumentException.class, () -> c.broadcast(a.allocate(4), 2));
                c.barrier();
                c.close();
                assertThrows(IllegalStateException.class, () -> c.allReduceMean(a.allocate(4)));
                assertThrows(IllegalStateException.class, c::barrier);
            }
            return "ok";
        });
        assertEquals(List.of("ok", "ok"), res);

        TcpCollective.Listener l = TcpCollective.listen("127.0.0.1");
        assertThrows(IllegalArgumentException.class,
                () -> l.connect(1, List.of(l.address()), 1, Duration.ofSeconds(1), Algorithm.AUTO));
        TcpCollective.Listener l2 = TcpCollective.listen("127.0.0.1");
        assertThrows(IllegalArgumentException.class,
                () -> l2.connect(0, List.of("elsewhere:1"), 1, Duration.ofSeconds(1), Algorithm.AUTO));
    }

    @Test
    void strayConnectionsAreRefusedAndMissingRanksNamed() throws Exception {
        TcpCollective.Listener l0 = TcpCollective.listen("127.0.0.1");
        TcpCollective.Listener l1 = TcpCollective.listen("127.0.0.1");
        List<String> addrs = List.of(l0.address(), l1.address());
        // a stranger connects to rank 0 and sends garbage; rank 1 never comes
        try (Socket s = new Socket()) {
            s.connect(TcpCollective.parse(l0.address()));
            OutputStream o = s.getOutputStream();
            o.write(new byte[24]);
            o.flush();
            CollectiveException e = assertThrows(CollectiveException.class,
                    () -> l0.connect(0, addrs, 7, Duration.ofMillis(700), Algorithm.AUTO));
            assertTrue(e.getMessage().contains("[1] did not connect"), e.getMessage());
        }
        l1.close();
    }
}
