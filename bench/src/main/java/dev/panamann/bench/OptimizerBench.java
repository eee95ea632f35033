package dev.panamann.bench;

import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.ops.Ops;
import dev.panamann.ops.java.JavaOps;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.optim.UpdateThreads;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One optimizer step over the CIFAR-10 conv net's parameters (0.83 M floats: conv 7x7x3x32,
 * W1 8192x100, W2 100x10 and the biases), split over {@code threads} update threads:
 * <ul>
 * <li>{@code path=library}: as the library runs it with the Vector API module present (the JVM
 *     runs with {@code --add-modules jdk.incubator.vector}): Adam and SGD-momentum in place with
 *     the Vector API loops;</li>
 * <li>{@code path=chunked}: the library with {@code panamann.java.vector=off}: chunks copied
 *     into heap arrays, where C2 auto-vectorizes the rule, and back;</li>
 * <li>{@code path=scalar}: the per-element loop over the memory segments that the optimizers
 *     ran before (a copy kept here for the comparison; one thread);</li>
 * <li>{@code path=heap}: the same rule over plain heap arrays of the same sizes in one simple
 *     indexed loop per parameter (one thread), which C2 vectorizes: the reference for what a
 *     loop that moves the same bytes costs on this machine.</li>
 * </ul>
 * Gradients are N(0, 1e-2^2) noise: every value stays a normal float.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g", "--add-modules", "jdk.incubator.vector"})
public class OptimizerBench {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @org.openjdk.jmh.annotations.Param({"adam", "sgd_momentum"})
    public String rule;

    @org.openjdk.jmh.annotations.Param({"library", "chunked", "scalar", "heap"})
    public String path;

    @org.openjdk.jmh.annotations.Param({"2"})
    public int threads;

    private Ops ops;
    private ThreeLayerConvNet net;
    private Optimizer opt;
    private List<Param> params;
    private final List<MemorySegment[]> scalarState = new ArrayList<>();
    private final List<float[][]> heap = new ArrayList<>();
    private long t;

    @Setup(Level.Trial)
    public void setup() {
        UpdateThreads.setThreads(threads);
        // read at the optimizer's first step
        System.setProperty("panamann.java.vector", path.equals("chunked") ? "off" : "auto");
        ops = new JavaOps(1);
        net = new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 0f, 1);
        params = net.params();
        Rng rng = new Rng(3);
        for (Param p : params) {
            try (Tensor g = Tensor.randn(rng, 1e-2f, p.value().shape())) {
                p.grad().copyFrom(g);
            }
        }
        opt = Optimizers.create(rule, Map.of("learning_rate", 1e-6));
        opt.prepare(params);
        for (Param p : params) {
            MemorySegment[] s = new MemorySegment[opt.slotNames().size()];
            for (int i = 0; i < s.length; i++) s[i] = opt.slot(p, opt.slotNames().get(i)).segment();
            scalarState.add(s);
            float[] g = p.grad().toArray();
            heap.add(new float[][] {p.value().toArray(), g, new float[g.length], new float[g.length]});
        }
    }

    @Benchmark
    public void step() {
        if (path.equals("library") || path.equals("chunked")) {
            opt.step(params);
            return;
        }
        t++;
        if (path.equals("heap")) {
            for (float[][] a : heap) {
                if (rule.equals("adam")) heapAdam(a[0], a[1], a[2], a[3], t);
                else heapMomentum(a[0], a[1], a[2]);
            }
            return;
        }
        for (int i = 0; i < params.size(); i++) {
            Param p = params.get(i);
            MemorySegment[] s = scalarState.get(i);
            int n = p.value().sizeInt();
            if (rule.equals("adam")) scalarAdam(p.value().segment(), p.grad().segment(), s[0], s[1], t, n);
            else scalarMomentum(p.value().segment(), p.grad().segment(), s[0], n);
        }
    }

    /** The Adam loop the optimizer ran before (one thread, per-element segment access). */
    static void scalarAdam(MemorySegment w, MemorySegment dw, MemorySegment m, MemorySegment v, long t, int n) {
        float lr = 1e-6f, eps = 1e-8f, b1 = 0.9f, oneMinusB1 = (float) (1 - 0.9), b2 = 0.999f, oneMinusB2 = (float) (1 - 0.999);
        float c1 = (float) (1 / (1 - Math.pow(0.9, t)));
        float c2 = (float) (1 / (1 - Math.pow(0.999, t)));
        for (int i = 0; i < n; i++) {
            float g = dw.getAtIndex(F, i);
            float mi = b1 * m.getAtIndex(F, i) + oneMinusB1 * g;
            float vi = b2 * v.getAtIndex(F, i) + oneMinusB2 * g * g;
            m.setAtIndex(F, i, mi);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps));
        }
    }

    /** Adam on heap arrays, one loop. */
    static void heapAdam(float[] w, float[] dw, float[] m, float[] v, long t) {
        float lr = 1e-6f, eps = 1e-8f, b1 = 0.9f, oneMinusB1 = (float) (1 - 0.9), b2 = 0.999f, oneMinusB2 = (float) (1 - 0.999);
        float c1 = (float) (1 / (1 - Math.pow(0.9, t)));
        float c2 = (float) (1 / (1 - Math.pow(0.999, t)));
        for (int i = 0; i < w.length; i++) {
            float g = dw[i];
            float mi = b1 * m[i] + oneMinusB1 * g;
            float vi = b2 * v[i] + oneMinusB2 * g * g;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps);
        }
    }

    /** SGD-momentum on heap arrays, one loop. */
    static void heapMomentum(float[] w, float[] dw, float[] v) {
        float lr = 1e-6f, mu = 0.9f;
        for (int i = 0; i < w.length; i++) {
            float vi = mu * v[i] - lr * dw[i];
            v[i] = vi;
            w[i] = w[i] + vi;
        }
    }

    /** The SGD-momentum loop the optimizer ran before. */
    static void scalarMomentum(MemorySegment w, MemorySegment dw, MemorySegment v, int n) {
        float lr = 1e-6f, mu = 0.9f;
        for (int i = 0; i < n; i++) {
            float vi = mu * v.getAtIndex(F, i) - lr * dw.getAtIndex(F, i);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) + vi);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        opt.close();
        net.close();
        ops.close();
    }
}
