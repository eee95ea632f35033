package dev.panamann.bench;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * sgemm, native (OpenBLAS) vs pure Java, on the shapes of the TwoLayerNet affine layers
 * (batch 400, 3072 -> 300 -> 10) and a square case. Reports ms per multiply.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GemmBench {
    /** m x k times k x n. */
    @Param({"400x3072x300", "3072x400x300", "400x300x3072", "512x512x512"})
    public String mkn;

    @Param({"native", "java"})
    public String backend;

    private Ops ops;
    private Tensor a, b, c;
    private int m, k, n;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = mkn.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        ops = Backends.create(backend);
        Rng rng = new Rng(1);
        a = Tensor.randn(rng, 1f, m, k);
        b = Tensor.randn(rng, 1f, k, n);
        c = Tensor.zeros(m, n);
    }

    @Benchmark
    public Tensor gemm() {
        ops.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        c.close();
        ops.close();
    }
}
