package dev.panamann.bench;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
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
 * The planned ops on the shapes of the CIFAR-10 conv net at batch 50, native (oneDNN) vs
 * pure Java: conv 7x7x32 pad 3 on (50, 3, 32, 32) forward and backward (weights and bias
 * only, as for a first layer), 2x2 max pool forward + backward on (50, 32, 32, 32), and
 * spatial batch norm forward + backward (training) on (50, 32, 32, 32). Reports ms per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class OpsBench {
    @Param({"native", "java"})
    public String backend;

    private Ops ops;
    private Conv2dOp conv;
    private Pool2dOp pool;
    private BatchNormOp bn;
    private Tensor x, w, b, y, dy, dw, db, a, pooled, dpooled, da, gamma, beta, rm, rv, bnOut, dgamma, dbeta;

    @Setup(Level.Trial)
    public void setup() {
        ops = Backends.create(backend);
        Rng rng = new Rng(1);
        ConvGeometry g = new ConvGeometry(50, 3, 32, 32, 32, 7, 7, 1, 3);
        conv = ops.conv2d(g);
        x = Tensor.randn(rng, 1f, g.inputShape());
        w = Tensor.randn(rng, 1e-2f, g.weightShape());
        b = Tensor.zeros(32);
        y = Tensor.zeros(g.outputShape());
        dy = Tensor.randn(rng, 1f, g.outputShape());
        dw = Tensor.zeros(g.weightShape());
        db = Tensor.zeros(32);
        PoolGeometry pg = new PoolGeometry(50, 32, 32, 32, 2, 2);
        pool = ops.pool2d(pg, true);
        a = Tensor.randn(rng, 1f, pg.inputShape());
        pooled = Tensor.zeros(pg.outputShape());
        dpooled = Tensor.randn(rng, 1f, pg.outputShape());
        da = Tensor.zeros(pg.inputShape());
        bn = ops.batchNorm(50, 32, 32 * 32, 1e-5f);
        gamma = Tensor.full(1f, 32);
        beta = Tensor.zeros(32);
        rm = Tensor.zeros(32);
        rv = Tensor.full(1f, 32);
        bnOut = Tensor.zeros(pg.inputShape());
        dgamma = Tensor.zeros(32);
        dbeta = Tensor.zeros(32);
    }

    @Benchmark
    public Tensor convForward() {
        conv.forward(x, w, b, y);
        return y;
    }

    @Benchmark
    public Tensor convBackwardWeights() {
        conv.backward(x, w, dy, null, dw, db);
        return dw;
    }

    @Benchmark
    public Tensor maxPoolForwardBackward() {
        pool.forward(a, pooled, true);
        pool.backward(a, dpooled, da);
        return da;
    }

    @Benchmark
    public Tensor batchNormForwardBackward() {
        bn.forward(a, gamma, beta, bnOut, rm, rv, 0.9f, true);
        bn.backward(a, gamma, a, da, dgamma, dbeta);
        return da;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        conv.close();
        pool.close();
        bn.close();
        for (Tensor t : new Tensor[] {x, w, b, y, dy, dw, db, a, pooled, dpooled, da, gamma, beta, rm, rv, bnOut, dgamma, dbeta}) {
            t.close();
        }
        ops.close();
    }
}
