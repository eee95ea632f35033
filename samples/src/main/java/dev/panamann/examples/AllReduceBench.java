package dev.panamann.examples;

import dev.panamann.dist.TcpCollective;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Times the TCP all-reduce of the conv net's gradient (825,046 floats, 3.3 MB) between W ranks
 * in threads of one JVM over loopback: the ring and halving-doubling algorithms interleaved,
 * median of the repetitions, per W. What it measures on one machine is the software cost
 * (copies through the kernel's loopback, the reduction loop), not a network.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.AllReduceBench [floats] [repetitions] [W...]
 * </pre>
 */
public final class AllReduceBench {
    private AllReduceBench() {}

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 825_046;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        int[] ws = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray() : new int[] {2, 4, 8};
        System.out.printf(Locale.ROOT, "all-reduce (mean) of %d floats (%.2f MB), %d repetitions, median ms; %d cores%n", n,
                n * 4 / 1e6, reps, Runtime.getRuntime().availableProcessors());
        for (int w : ws) {
            double[][] t = run(w, n, reps);
            System.out.printf(Locale.ROOT, "W=%d  ring %.2f ms  halving-doubling %.2f ms%n", w, median(t[0]), median(t[1]));
        }
    }

    /** Times per repetition, [algorithm][rep], alternating the two algorithms. */
    private static double[][] run(int w, long n, int reps) throws Exception {
        double[][] times = new double[2][reps];
        TcpCollective.Algorithm[] algs = {TcpCollective.Algorithm.RING, TcpCollective.Algorithm.HALVING_DOUBLING};
        List<List<TcpCollective>> sets = new ArrayList<>();
        for (TcpCollective.Algorithm a : algs) sets.add(connect(w, a));
        ExecutorService pool = Executors.newFixedThreadPool(w);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] bufs = new MemorySegment[w];
            for (int r = 0; r < w; r++) bufs[r] = arena.allocate(n * 4, 64);
            for (int rep = -3; rep < reps; rep++) {
                for (int a = 0; a < 2; a++) {
                    List<TcpCollective> cs = sets.get(a);
                    List<Future<?>> fs = new ArrayList<>();
                    long t0 = System.nanoTime();
                    for (int r = 0; r < w; r++) {
                        int rank = r;
                        fs.add(pool.submit(() -> cs.get(rank).allReduceMean(bufs[rank])));
                    }
                    for (Future<?> f : fs) f.get();
                    if (rep >= 0) times[a][rep] = (System.nanoTime() - t0) / 1e6;
                }
            }
        } finally {
            pool.shutdownNow();
            for (List<TcpCollective> cs : sets) for (TcpCollective c : cs) c.close();
        }
        return times;
    }

    private static List<TcpCollective> connect(int w, TcpCollective.Algorithm alg) throws Exception {
        List<TcpCollective.Listener> ls = new ArrayList<>();
        List<String> addrs = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            ls.add(TcpCollective.listen("127.0.0.1"));
            addrs.add(ls.get(r).address());
        }
        ExecutorService pool = Executors.newFixedThreadPool(w);
        try {
            List<Future<TcpCollective>> fs = new ArrayList<>();
            for (int r = 0; r < w; r++) {
                int rank = r;
                fs.add(pool.submit(() -> ls.get(rank).connect(rank, addrs, 1, Duration.ofSeconds(60), alg)));
            }
            List<TcpCollective> cs = new ArrayList<>();
            for (Future<TcpCollective> f : fs) cs.add(f.get());
            return cs;
        } finally {
            pool.shutdownNow();
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
