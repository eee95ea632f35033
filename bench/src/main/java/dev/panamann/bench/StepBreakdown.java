package dev.panamann.bench;

import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.models.DataParallel;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.ResNet9;
import dev.panamann.models.SequentialModel;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Where the time of one conv-net train step goes: the CIFAR-10 ThreeLayerConvNet step taken
 * apart into each layer's forward and backward, the loss and the optimizer update, each timed
 * over many steps; prints the median per part in ms, wall time and the calling thread's CPU time,
 * and the mean of the whole step (what throughput sees).
 * The step is the one {@code Model.loss} + {@code Optimizer.step} run (without the L2 term:
 * reg 0), and the heap bytes the stepping thread allocates per step over the second half of the
 * steps. With one thread ({@code -Dpanamann.threads=1}) every native call runs on the calling
 * thread, so its CPU time is the work of the step even on a machine busy with other processes.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/panama-nn-bench.jar \
 *     dev.panamann.bench.StepBreakdown [batch [optimizer [steps [backend [model [replicas]]]]]]
 * </pre>
 * Defaults: batch 64, adam, 200 steps (after 30 warm-up steps; {@code -Dwarmup=N} for N: the JIT
 * compiles the step's Java code on the same cores within the first ~100-300 steps, so a
 * steady-state comparison with the C program takes a few hundred), backend native, model
 * {@code convnet}; {@code convnet-hH} the same conv net with H hidden units (the main job's is
 * {@code convnet-h500}); {@code resnet9-W} takes the {@link ResNet9} of width W instead, timed per
 * top-level layer (a residual block as one part); {@code twolayer} the side-by-side TwoLayerNet
 * 3072-300-10 and {@code fcbn} its FullyConnectedNet 3072-200-100-10 with batch norm (the input
 * then flattened by the first affine layer). With {@code replicas} (a number) the step is the
 * whole step of a {@link DataParallel} model with that many replicas, timed as one part;
 * {@code -Dpanamann.bench.trainStep=true} makes that step one {@code Model.trainStep} call, the
 * call {@code train} makes (the update fused into the replicas' weight-gradient products), and
 * {@code -Dpanamann.bench.reg=R} gives the conv nets the L2 strength R (the main job's is 0.001).
 * Input: N(0, 50^2) noise and random labels (activations and gradients stay normal floats).
 */
public final class StepBreakdown {
    private StepBreakdown() {}

    /** Untimed steps before the timed ones ({@code -Dwarmup}, default 30). */
    private static final int WARMUP = Integer.getInteger("warmup", 30);
    /** {@code -Dpanamann.bench.trainStep=true}: the replicated step is one {@code Model.trainStep} call. */
    private static final boolean TRAIN_STEP = Boolean.getBoolean("panamann.bench.trainStep");
    /** {@code -Dpanamann.bench.reg}: the conv nets' L2 strength (default 0). */
    private static final float REG = Float.parseFloat(System.getProperty("panamann.bench.reg", "0"));

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        String rule = args.length > 1 ? args[1] : "adam";
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        String backend = args.length > 3 ? args[3] : "native";
        String model = args.length > 4 ? args[4] : "convnet";
        if (batch < 1 || steps < 1) throw new IllegalArgumentException("batch and steps must be >= 1");
        if (WARMUP < 0) throw new IllegalArgumentException("warmup must be >= 0, got " + WARMUP);
        if (!model.matches("convnet(-h[0-9]+)?") && !model.equals("twolayer") && !model.equals("fcbn") && !model.matches("resnet9-[0-9]+")) {
            throw new IllegalArgumentException("model must be convnet, convnet-hH, twolayer, fcbn or resnet9-W, got " + model);
        }
        if (args.length > 5) {
            replicated(batch, rule, steps, backend, model, Integer.parseInt(args[5]));
            return;
        }
        try (Ops ops = Backends.create(backend);
             SequentialModel net = model(ops, model);
             Optimizer opt = Optimizers.create(rule, Map.of("learning_rate", 1e-3));
             SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy();
             Tensor x = Tensor.randn(new Rng(1), 50f, batch, 3, 32, 32)) {
            int[] y = labels(batch);
            List<Layer> layers = net.layers().layers();
            List<String> names = new ArrayList<>();
            for (Layer l : layers) names.add(l + " forward");
            names.add("softmax loss");
            for (int i = layers.size() - 1; i >= 0; i--) names.add(layers.get(i) + " backward");
            names.add("optimizer (" + rule + ")");
            names.add("whole step");
            int parts = names.size();
            long[][] t = new long[parts][steps], c = new long[parts][steps];
            ThreadMXBean bean = ManagementFactory.getThreadMXBean();
            List<Param> params = net.params();
            opt.prepare(params);
            var allocBean = (com.sun.management.ThreadMXBean) bean;
            long allocStart = 0;
            long[] last = new long[2];
            for (int s = -WARMUP; s < steps; s++) {
                if (s == steps / 2) allocStart = allocBean.getCurrentThreadAllocatedBytes(); // the JIT has settled by then
                int k = 0;
                last[0] = System.nanoTime();
                last[1] = bean.getCurrentThreadCpuTime();
                long start = last[0], cpuStart = last[1];
                Tensor h = x;
                for (int i = 0; i < layers.size(); i++) {
                    h = layers.get(i).forward(h, Mode.TRAIN);
                    record(t, c, k++, s, last, bean);
                }
                loss.forwardDouble(h, y);
                record(t, c, k++, s, last, bean);
                Tensor d = loss.dscores();
                for (int i = layers.size() - 1; i >= 0; i--) {
                    d = layers.get(i).backward(d);
                    record(t, c, k++, s, last, bean);
                }
                opt.step(params);
                record(t, c, k++, s, last, bean);
                if (s >= 0) {
                    t[k][s] = last[0] - start;
                    c[k][s] = last[1] - cpuStart;
                }
            }
            long allocated = allocBean.getCurrentThreadAllocatedBytes() - allocStart; // before printing allocates
            printHead(net, batch, rule, ops, steps, String.format("%.0f bytes per step", (double) allocated / (steps - steps / 2)));
            for (int i = 0; i < parts; i++) {
                System.out.printf("  %8.3f  %8.3f  %s%n", median(t[i]) / 1e6, median(c[i]) / 1e6, names.get(i));
            }
            printMean(t[parts - 1], c[parts - 1], batch);
        }
    }

    /**
     * The whole step of a {@link DataParallel} model with {@code replicas} replicas (the step
     * {@code train} takes with 2 or more threads): median and mean wall time per step, the
     * calling thread's CPU time, and its heap allocation per step.
     */
    private static void replicated(int batch, String rule, int steps, String backend, String model, int replicas) {
        try (Ops ops = Backends.create(backend);
             DataParallel net = DataParallel.of(ops, o -> model(o, model), replicas);
             Optimizer opt = Optimizers.create(rule, Map.of("learning_rate", 1e-3));
             Tensor x = Tensor.randn(new Rng(1), 50f, batch, 3, 32, 32)) {
            int[] y = labels(batch);
            List<Param> params = net.params();
            opt.prepare(params);
            ThreadMXBean bean = ManagementFactory.getThreadMXBean();
            var allocBean = (com.sun.management.ThreadMXBean) bean;
            long[] t = new long[steps], c = new long[steps];
            long allocStart = 0, othersStart = 0;
            for (int s = -WARMUP; s < steps; s++) {
                if (s == steps / 2) {
                    allocStart = allocBean.getCurrentThreadAllocatedBytes();
                    othersStart = replicaThreadsAllocated(allocBean);
                }
                long w0 = System.nanoTime(), c0 = bean.getCurrentThreadCpuTime();
                if (TRAIN_STEP) {
                    net.trainStep(x, y, opt);
                } else {
                    net.loss(x, y);
                    opt.step(params);
                }
                if (s >= 0) {
                    t[s] = System.nanoTime() - w0;
                    c[s] = bean.getCurrentThreadCpuTime() - c0;
                }
            }
            long allocated = allocBean.getCurrentThreadAllocatedBytes() - allocStart;
            long others = replicaThreadsAllocated(allocBean) - othersStart;
            int counted = steps - steps / 2;
            printHead(net, batch, rule, ops, steps, String.format("%.0f bytes per step, by the other replicas' threads: %.0f",
                    (double) allocated / counted, (double) others / counted));
            System.out.printf("  %8.3f  %8.3f  whole step%n", median(t) / 1e6, median(c) / 1e6);
            printMean(t, c, batch);
        }
    }

    /** The random labels every step trains on. */
    private static int[] labels(int batch) {
        Rng rng = new Rng(2);
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = rng.nextInt(10);
        return y;
    }

    /** The title line, the heap allocation per step ({@code heap}, over the last half of the steps) and the column heads. */
    private static void printHead(Object net, int batch, String rule, Ops ops, int steps, String heap) {
        System.out.printf("StepBreakdown: %s, batch %d, %s, backend %s (%d threads), %d steps%s, median ms%n",
                net, batch, rule, ops.name(), ops.threads(), steps, TRAIN_STEP && net instanceof DataParallel ? ", trainStep" : "");
        System.out.printf("  heap allocated by the stepping thread: %s (the last %d steps)%n", heap, steps - steps / 2);
        System.out.printf("  %8s  %8s%n", "wall", "cpu");
    }

    /** The mean whole step (wall, the stepping thread's CPU), the images/s it gives, and the 90th percentile of the wall time. */
    private static void printMean(long[] wall, long[] cpu, int batch) {
        long[] sorted = wall.clone();
        Arrays.sort(sorted);
        System.out.printf("  %8.3f  %8.3f  whole step, mean (images/s %.1f; wall 90th percentile %.3f ms)%n", mean(wall) / 1e6,
                mean(cpu) / 1e6, batch * 1e9 / mean(wall), sorted[sorted.length * 9 / 10] / 1e6);
    }

    /** Heap bytes allocated so far by the library's worker threads and the replicas' own threads, if any. */
    private static long replicaThreadsAllocated(com.sun.management.ThreadMXBean bean) {
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("panama-nn replica") || t.getName().startsWith("panama-nn worker")) sum += Math.max(0, bean.getThreadAllocatedBytes(t.threadId()));
        }
        return sum;
    }

    private static SequentialModel model(Ops ops, String model) {
        return switch (model) {
            case "convnet" -> new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, REG, 1);
            case String m when m.startsWith("convnet-h") ->
                    new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, Integer.parseInt(m.substring(9)), 10, 1e-3f, REG, 1);
            case "twolayer" -> new TwoLayerNet(ops, 3 * 32 * 32, 300, 10, 1e-4f, 0f, 1);
            case "fcbn" -> new FullyConnectedNet(ops, new int[] {200, 100}, 3 * 32 * 32, 10,
                    FullyConnectedNet.Options.DEFAULT.withHeInit().withBatchNorm(true).withSeed(1));
            default -> new ResNet9(ops, new int[] {3, 32, 32}, Integer.parseInt(model.substring(8)), 10, 0f, 1);
        };
    }

    /** Stores the wall and CPU time since {@code last} as part {@code part} of step {@code step}; updates last. */
    private static void record(long[][] t, long[][] c, int part, int step, long[] last, ThreadMXBean bean) {
        long now = System.nanoTime(), cpu = bean.getCurrentThreadCpuTime();
        if (step >= 0) {
            t[part][step] = now - last[0];
            c[part][step] = cpu - last[1];
        }
        last[0] = now;
        last[1] = cpu;
    }

    private static double mean(long[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
