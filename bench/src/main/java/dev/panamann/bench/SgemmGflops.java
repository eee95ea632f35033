package dev.panamann.bench;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;

/**
 * sgemm GFLOPS of the default backend, one line per size, after the backend's
 * {@link Backends#describe} line (which names the OpenBLAS core). Run it once per setting in
 * separate processes (the core is chosen when OpenBLAS loads):
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/panama-nn-bench.jar dev.panamann.bench.SgemmGflops [M,N,K ...]
 * </pre>
 * Defaults: 2048,2048,2048 and the conv net's affine layers at batch 64 (forward and the weight
 * gradient of 8192 -> 100). Each size: a warm-up, then the median of 7 timed rounds of enough
 * multiplies for about 0.2 s.
 */
public final class SgemmGflops {
    private SgemmGflops() {}

    public static void main(String[] args) {
        String[] sizes = args.length > 0 ? args : new String[] {"2048,2048,2048", "64,100,8192", "8192,100,64"};
        try (Ops ops = Backends.get()) {
            System.out.println(Backends.describe(ops));
            for (String s : sizes) {
                String[] p = s.split(",");
                int m = Integer.parseInt(p[0].trim()), n = Integer.parseInt(p[1].trim()), k = Integer.parseInt(p[2].trim());
                Rng rng = new Rng(1);
                try (Tensor a = Tensor.randn(rng, 1f, m, k); Tensor b = Tensor.randn(rng, 1f, k, n); Tensor c = Tensor.zeros(m, n)) {
                    double flop = 2.0 * m * n * k;
                    long t0 = System.nanoTime();
                    int reps = 0;
                    while (System.nanoTime() - t0 < 200_000_000L || reps < 2) {
                        ops.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
                        reps++;
                    }
                    double[] g = new double[7];
                    for (int r = 0; r < g.length; r++) {
                        long s0 = System.nanoTime();
                        for (int i = 0; i < reps; i++) ops.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
                        g[r] = flop * reps / (System.nanoTime() - s0);
                    }
                    Arrays.sort(g);
                    System.out.printf(Locale.ROOT, "sgemm m=%d n=%d k=%d: %.1f GFLOPS (median of 7; min %.1f, max %.1f)%n",
                            m, n, k, g[3], g[0], g[6]);
                }
            }
        }
    }
}
