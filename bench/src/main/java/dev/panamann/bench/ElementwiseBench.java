package dev.panamann.bench;

import dev.panamann.ops.Elementwise;
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
 * The affine and ReLU layers' loops of {@link Elementwise} on an MLP activation of
 * {@code rows x cols} floats (64x300: TwoLayerNet's hidden layer at batch 64; 200x200: the first
 * layer of the batch-norm MLP at batch 200): ReLU and its gradient, the bias added to each row
 * and the bias gradient (column sums). The JVM runs with {@code jdk.incubator.vector}, so the
 * library takes its Vector API loops; add {@code -jvmArgsAppend -Dpanamann.java.vector=off} for
 * the scalar loops. Inputs are N(0, 1) noise.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "--add-modules", "jdk.incubator.vector"})
public class ElementwiseBench {
    @Param({"64x300", "200x200"})
    public String shape;

    private int rows, cols;
    private Tensor x, out, dout, dx, bias, db;

    @Setup(Level.Trial)
    public void setup() {
        String[] rc = shape.split("x");
        rows = Integer.parseInt(rc[0]);
        cols = Integer.parseInt(rc[1]);
        Rng rng = new Rng(1);
        x = Tensor.randn(rng, 1f, rows, cols);
        out = Tensor.zeros(rows, cols);
        dout = Tensor.randn(rng, 1f, rows, cols);
        dx = Tensor.zeros(rows, cols);
        bias = Tensor.randn(rng, 1e-3f, cols);
        db = Tensor.zeros(cols);
        Elementwise.relu(x.segment(), out.segment(), rows * cols);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, out, dout, dx, bias, db}) t.close();
    }

    @Benchmark
    public void relu() {
        Elementwise.relu(x.segment(), out.segment(), rows * cols);
    }

    @Benchmark
    public void reluBackward() {
        Elementwise.reluBackward(out.segment(), dout.segment(), dx.segment(), rows * cols);
    }

    /** Adds the (tiny) bias to the same matrix every call: its values stay normal floats for millions of calls. */
    @Benchmark
    public void addToRows() {
        Elementwise.addToRows(out.segment(), bias.segment(), rows, cols);
    }

    @Benchmark
    public void columnSums() {
        Elementwise.columnSums(dout.segment(), rows, cols, db.segment());
    }
}
